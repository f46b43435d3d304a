namespace Sifa.Data;

/// <summary>How a training clip's crop is chosen.</summary>
public enum TrainCropMode
{
    /// <summary>Resize the short side to a random size in [ShortSideMin, ShortSideMax], take a random CropSize square (the default).</summary>
    ShortSide,

    /// <summary>torchvision's RandomResizedCrop: a random area (<see cref="ClipAugmentOptions.ScaleMin"/>..Max of the frame)
    /// and aspect ratio (log-uniform in <see cref="ClipAugmentOptions.RatioMin"/>..Max), resized to CropSize; the frame is
    /// first resized to short side ShortSideMin (the official recipe).</summary>
    RandomResized,

    /// <summary>mmaction2's MultiScaleCrop: width and height each one of <see cref="ClipAugmentOptions.MultiScales"/> × the
    /// short side (at most one scale step apart), at one of five fixed positions (corners, centre), resized to CropSize.</summary>
    MultiScale,
}

/// <summary>
/// Training augmentations beyond crop and flip (the official SIFA recipe and mmaction2 practice). Every random parameter
/// is drawn once per clip, from the loader's per-sample random source in a fixed order, so every frame of a clip gets
/// the same transform and a seed fixes the sample (resumed runs stay exact). The defaults turn everything off.
/// Order (the official <c>train_val_3d.py</c>): crop, then RandAugment when on, else colour jitter (with probability
/// <see cref="ColorJitterProbability"/>), random grayscale, Gaussian blur; flip; normalisation. The flip is folded into
/// the crop's resampling, so here it comes before the pixel operations; each of those is mirror-symmetric in
/// distribution (the geometric RandAugment ones draw a random sign), so the distribution of clips is the official one.
/// </summary>
public sealed record ClipAugmentOptions
{
    /// <summary>Nothing beyond the crop and flip of <see cref="ClipTransformOptions"/>.</summary>
    public static ClipAugmentOptions None { get; } = new();

    /// <summary>The official SIFA Kinetics augmentation: RandomResizedCrop (0.2–1, 3/4–4/3), colour jitter
    /// (0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale p 0.2, Gaussian blur σ 0.1–2 with p 0.5.</summary>
    public static ClipAugmentOptions Official { get; } = new()
    {
        Crop = TrainCropMode.RandomResized, Brightness = 0.4, Contrast = 0.4, Saturation = 0.4, Hue = 0.1, ColorJitterProbability = 0.8,
        GrayscaleProbability = 0.2, BlurProbability = 0.5,
    };

    /// <summary>The official SIFA Something-Something augmentation: RandomResizedCrop and RandAugment n 2, m 27.</summary>
    public static ClipAugmentOptions OfficialRandAugment { get; } = new() { Crop = TrainCropMode.RandomResized, RandAugmentN = 2, RandAugmentM = 27 };

    /// <summary>How the crop is chosen.</summary>
    public TrainCropMode Crop { get; init; } = TrainCropMode.ShortSide;

    /// <summary>RandomResizedCrop: smallest fraction of the frame's area.</summary>
    public double ScaleMin { get; init; } = 0.2;

    /// <summary>RandomResizedCrop: largest fraction of the frame's area.</summary>
    public double ScaleMax { get; init; } = 1.0;

    /// <summary>RandomResizedCrop: smallest aspect ratio (width / height).</summary>
    public double RatioMin { get; init; } = 3.0 / 4.0;

    /// <summary>RandomResizedCrop: largest aspect ratio.</summary>
    public double RatioMax { get; init; } = 4.0 / 3.0;

    /// <summary>MultiScaleCrop: the crop sides as fractions of the short side.</summary>
    public IReadOnlyList<double> MultiScales { get; init; } = new[] { 1.0, 0.875, 0.75, 0.66 };

    /// <summary>Colour jitter: the brightness factor is uniform in [max(0, 1 − b), 1 + b] (0: off).</summary>
    public double Brightness { get; init; }

    /// <summary>Colour jitter: contrast, as <see cref="Brightness"/>.</summary>
    public double Contrast { get; init; }

    /// <summary>Colour jitter: saturation, as <see cref="Brightness"/>.</summary>
    public double Saturation { get; init; }

    /// <summary>Colour jitter: the hue shift is uniform in [−h, h], h ≤ 0.5 (0: off).</summary>
    public double Hue { get; init; }

    /// <summary>Probability that colour jitter is applied to a clip.</summary>
    public double ColorJitterProbability { get; init; } = 1.0;

    /// <summary>Probability that a clip is turned to grayscale.</summary>
    public double GrayscaleProbability { get; init; }

    /// <summary>Probability that a clip is blurred.</summary>
    public double BlurProbability { get; init; }

    /// <summary>Gaussian blur: smallest σ (pixels of the output).</summary>
    public double BlurSigmaMin { get; init; } = 0.1;

    /// <summary>Gaussian blur: largest σ.</summary>
    public double BlurSigmaMax { get; init; } = 2.0;

    /// <summary>RandAugment: operations per clip (0: off).</summary>
    public int RandAugmentN { get; init; }

    /// <summary>RandAugment: magnitude on the official 0..30 scale.</summary>
    public double RandAugmentM { get; init; } = 27;

    /// <summary>Whether colour jitter does anything.</summary>
    public bool HasJitter => Brightness > 0 || Contrast > 0 || Saturation > 0 || Hue > 0;

    /// <summary>Whether any pixel-value operation is on (these need the unnormalised path).</summary>
    public bool HasPixelOps => (HasJitter && ColorJitterProbability > 0) || GrayscaleProbability > 0 || BlurProbability > 0 || RandAugmentN > 0;

    /// <summary>Whether anything differs from <see cref="None"/>'s behaviour.</summary>
    public bool IsActive => Crop != TrainCropMode.ShortSide || HasPixelOps;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        static bool P(double p) => p is >= 0 and <= 1;
        if (!(ScaleMin > 0 && ScaleMin <= ScaleMax && ScaleMax <= 1)) throw new ArgumentException($"crop scale range must satisfy 0 < min ≤ max ≤ 1, got {ScaleMin}..{ScaleMax}");
        if (!(RatioMin > 0 && RatioMin <= RatioMax && double.IsFinite(RatioMax))) throw new ArgumentException($"crop ratio range must satisfy 0 < min ≤ max, got {RatioMin}..{RatioMax}");
        if (MultiScales.Count == 0 || MultiScales.Any(s => !(s is > 0 and <= 1))) throw new ArgumentException("multi-scale crop scales must be in (0, 1]");
        foreach (var (n, v) in new[] { ("brightness", Brightness), ("contrast", Contrast), ("saturation", Saturation) })
            if (!(v >= 0) || !double.IsFinite(v)) throw new ArgumentException($"colour jitter {n} must be a finite number ≥ 0, got {v}");
        if (!(Hue is >= 0 and <= 0.5)) throw new ArgumentException($"colour jitter hue must be in [0, 0.5], got {Hue}");
        if (!P(ColorJitterProbability) || !P(GrayscaleProbability) || !P(BlurProbability)) throw new ArgumentException("augmentation probabilities must be in [0, 1]");
        if (!(BlurSigmaMin > 0 && BlurSigmaMin <= BlurSigmaMax && BlurSigmaMax <= 50)) throw new ArgumentException($"blur σ range must satisfy 0 < min ≤ max ≤ 50, got {BlurSigmaMin}..{BlurSigmaMax}");
        if (RandAugmentN is < 0 or > 16) throw new ArgumentException($"RandAugment n must be in 0..16, got {RandAugmentN}");
        if (!(RandAugmentM is >= 0 and <= 30)) throw new ArgumentException($"RandAugment m must be in [0, 30], got {RandAugmentM}");
    }
}

/// <summary>
/// The pixel-value augmentations of one clip, drawn once (<see cref="Draw"/>) and applied identically to each of its
/// frames (<see cref="Apply"/>) on planar RGB (3, H, W) values in [0, 1]. The colour maths is torchvision's tensor code
/// (<c>adjust_brightness/contrast/saturation/hue</c>, <c>rgb_to_grayscale</c>).
/// </summary>
public sealed class ClipPixelOps
{
    private readonly List<Action<float[], int, int>> _ops = new();

    private ClipPixelOps() { }

    /// <summary>Whether no operation was drawn.</summary>
    public bool IsIdentity => _ops.Count == 0;

    /// <summary>A description of the drawn operations (for tests and logs).</summary>
    public List<string> Description { get; } = new();

    /// <summary>Draws a clip's operations from <paramref name="rng"/> (a fixed number of draws per enabled option).</summary>
    /// <param name="o">The settings.</param>
    /// <param name="rng">The sample's random source.</param>
    /// <returns>The operations.</returns>
    public static ClipPixelOps Draw(ClipAugmentOptions o, Random rng)
    {
        var ops = new ClipPixelOps();
        if (o.RandAugmentN > 0)
        {
            RandAugment.Draw(o.RandAugmentN, o.RandAugmentM, rng, ops._ops, ops.Description);
            return ops;
        }
        if (o.HasJitter && o.ColorJitterProbability > 0 && rng.NextDouble() < o.ColorJitterProbability)
        {
            // torchvision ColorJitter: a random order of the four, each factor uniform in its range.
            var order = new[] { 0, 1, 2, 3 };
            rng.Shuffle(order);
            foreach (var k in order)
            {
                double range = k switch { 0 => o.Brightness, 1 => o.Contrast, 2 => o.Saturation, _ => o.Hue };
                if (range <= 0) continue;
                double f = k == 3 ? Uniform(rng, -range, range) : Uniform(rng, Math.Max(0, 1 - range), 1 + range);
                float ff = (float)f;
                ops.Description.Add(k switch { 0 => "brightness", 1 => "contrast", 2 => "saturation", _ => "hue" } + $" {f:G4}");
                ops._ops.Add(k switch
                {
                    0 => (x, h, w) => Brightness(x, ff),
                    1 => (x, h, w) => Contrast(x, h * w, ff),
                    2 => (x, h, w) => Saturation(x, h * w, ff),
                    _ => (x, h, w) => Hue(x, h * w, ff),
                });
            }
        }
        if (o.GrayscaleProbability > 0 && rng.NextDouble() < o.GrayscaleProbability)
        {
            ops.Description.Add("grayscale");
            ops._ops.Add((x, h, w) => Grayscale(x, h * w));
        }
        if (o.BlurProbability > 0 && rng.NextDouble() < o.BlurProbability)
        {
            double sigma = Uniform(rng, o.BlurSigmaMin, o.BlurSigmaMax);
            ops.Description.Add($"blur {sigma:G4}");
            ops._ops.Add((x, h, w) => GaussianBlur(x, h, w, sigma));
        }
        return ops;
    }

    /// <summary>Applies the operations to one frame, planar (3, <paramref name="height"/>, <paramref name="width"/>) on [0, 1], in place.</summary>
    public void Apply(float[] frame, int height, int width)
    {
        foreach (var op in _ops) op(frame, height, width);
    }

    private static double Uniform(Random rng, double a, double b) => a + (b - a) * rng.NextDouble();

    private static float Clamp01(float v) => v < 0f ? 0f : v > 1f ? 1f : v;

    /// <summary>torchvision <c>rgb_to_grayscale</c> of one pixel.</summary>
    public static float Gray(float r, float g, float b) => 0.2989f * r + 0.587f * g + 0.114f * b;

    /// <summary>torchvision <c>adjust_brightness</c>: <c>clamp(f·x)</c>.</summary>
    public static void Brightness(float[] x, float f)
    {
        int n = x.Length;
        for (int i = 0; i < n; i++) x[i] = Clamp01(f * x[i]);
    }

    /// <summary>torchvision <c>adjust_contrast</c>: blend with the frame's mean gray level.</summary>
    public static void Contrast(float[] x, int plane, float f)
    {
        double sum = 0;
        for (int i = 0; i < plane; i++) sum += Gray(x[i], x[plane + i], x[2 * plane + i]);
        float mean = (float)(sum / plane), bias = (1 - f) * mean;
        for (int i = 0; i < 3 * plane; i++) x[i] = Clamp01(f * x[i] + bias);
    }

    /// <summary>torchvision <c>adjust_saturation</c>: blend each pixel with its gray level.</summary>
    public static void Saturation(float[] x, int plane, float f)
    {
        for (int i = 0; i < plane; i++)
        {
            float gray = Gray(x[i], x[plane + i], x[2 * plane + i]) * (1 - f);
            for (int c = 0; c < 3; c++) x[c * plane + i] = Clamp01(f * x[c * plane + i] + gray);
        }
    }

    /// <summary>torchvision <c>rgb_to_grayscale</c> with three output channels.</summary>
    public static void Grayscale(float[] x, int plane)
    {
        for (int i = 0; i < plane; i++) x[i] = x[plane + i] = x[2 * plane + i] = Gray(x[i], x[plane + i], x[2 * plane + i]);
    }

    /// <summary>torchvision <c>adjust_hue</c>: RGB → HSV (its <c>_rgb2hsv</c>), h = (h + shift) mod 1, HSV → RGB (<c>_hsv2rgb</c>).</summary>
    public static void Hue(float[] x, int plane, float shift)
    {
        for (int i = 0; i < plane; i++)
        {
            var (h, s, v) = RgbToHsv(x[i], x[plane + i], x[2 * plane + i]);
            h = PyMod(h + shift, 1f);
            var (r, g, b) = HsvToRgb(h, s, v);
            x[i] = r; x[plane + i] = g; x[2 * plane + i] = b;
        }
    }

    // Python's % (the result takes the divisor's sign), as torch's remainder.
    private static float PyMod(float a, float m)
    {
        float r = a - MathF.Floor(a / m) * m;
        return r >= m ? r - m : r;
    }

    /// <summary>torchvision's <c>_rgb2hsv</c> on one pixel.</summary>
    public static (float H, float S, float V) RgbToHsv(float r, float g, float b)
    {
        float maxc = MathF.Max(r, MathF.Max(g, b)), minc = MathF.Min(r, MathF.Min(g, b));
        bool eqc = maxc == minc;
        float cr = maxc - minc;
        float s = cr / (eqc ? 1f : maxc);
        float div = eqc ? 1f : cr;
        float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
        float hr = maxc == r ? bc - gc : 0f;
        float hg = maxc == g && maxc != r ? 2f + rc - bc : 0f;
        float hb = maxc != g && maxc != r ? 4f + gc - rc : 0f;
        float h = hr + hg + hb;
        h = FMod(h / 6f + 1f, 1f);
        return (h, s, maxc);
    }

    // C's fmod (the result takes the dividend's sign), as torch.fmod.
    private static float FMod(float a, float m) => a - MathF.Truncate(a / m) * m;

    /// <summary>torchvision's <c>_hsv2rgb</c> on one pixel.</summary>
    public static (float R, float G, float B) HsvToRgb(float h, float s, float v)
    {
        float fi = MathF.Floor(h * 6f);
        float f = h * 6f - fi;
        int i = ((int)fi % 6 + 6) % 6;
        float p = Clamp01(v * (1f - s)), q = Clamp01(v * (1f - s * f)), t = Clamp01(v * (1f - s * (1f - f)));
        return i switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }

    /// <summary>A separable Gaussian blur of each channel (half-width ⌈3σ⌉, mirrored borders as torchvision's reflect padding).</summary>
    public static void GaussianBlur(float[] x, int height, int width, double sigma)
    {
        int r = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var k = new float[2 * r + 1];
        double sum = 0;
        for (int i = -r; i <= r; i++) sum += Math.Exp(-0.5 * i * i / (sigma * sigma));
        for (int i = -r; i <= r; i++) k[i + r] = (float)(Math.Exp(-0.5 * i * i / (sigma * sigma)) / sum);
        int plane = height * width;
        var tmp = new float[plane];
        for (int c = 0; c < 3; c++)
        {
            var p = x.AsSpan(c * plane, plane);
            for (int y = 0; y < height; y++)
                for (int xx = 0; xx < width; xx++)
                {
                    float acc = 0;
                    for (int j = -r; j <= r; j++) acc += k[j + r] * p[y * width + Reflect(xx + j, width)];
                    tmp[y * width + xx] = acc;
                }
            for (int y = 0; y < height; y++)
                for (int xx = 0; xx < width; xx++)
                {
                    float acc = 0;
                    for (int j = -r; j <= r; j++) acc += k[j + r] * tmp[Reflect(y + j, height) * width + xx];
                    p[y * width + xx] = acc;
                }
        }
    }

    // Mirror without repeating the edge (…2 1 | 0 1 2 … n−1 | n−2 …), folded again for kernels wider than the image.
    internal static int Reflect(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}

/// <summary>
/// Data whose classes depend on left/right direction, where horizontal flips would change the label: Something-Something
/// ("pushing something from left to right") and synthetic-motion (move left / move right).
/// </summary>
public static class DirectionSensitive
{
    private static readonly string[] Markers = { "something", "sthv", "sth-", "sth_", "ssv1", "ssv2", "smth", SyntheticMotionDataset.Name };

    /// <summary>Whether a dataset name or list path names direction-sensitive data (case-insensitive).</summary>
    public static bool Is(string datasetNameOrPath) =>
        Markers.Any(m => datasetNameOrPath.Contains(m, StringComparison.OrdinalIgnoreCase));
}
