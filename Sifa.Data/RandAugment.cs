namespace Sifa.Data;

/// <summary>
/// The official SIFA clip RandAugment (<c>util/clip_augmentations.py</c>, after rpmcruz/autoaugment): n operations
/// chosen with replacement from 16, each at value <c>m/30 · max</c>, with a random sign where the operation has one,
/// drawn once per clip. PIL's operations work on bytes: values are quantised to 0..255 for the byte-level ones
/// (posterize, solarize, equalize, autocontrast); geometric ones use nearest sampling with black fill, as PIL does.
/// </summary>
internal static class RandAugment
{
    private static readonly string[] Names =
    {
        "AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd",
        "Color", "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "Cutout", "TranslateX", "TranslateY",
    };

    private static readonly double[] Max = { 1, 1, 1, 30, 4, 256, 110, 0.9, 0.9, 0.9, 0.9, 0.3, 0.3, 0.3571, 0.4464, 0.4464 };

    /// <summary>Draws <paramref name="n"/> operations at magnitude <paramref name="m"/> (0..30).</summary>
    public static void Draw(int n, double m, Random rng, List<Action<float[], int, int>> ops, List<string> description)
    {
        for (int k = 0; k < n; k++)
        {
            int op = rng.Next(Names.Length);
            double v = m / 30.0 * Max[op];
            // Signed operations draw their sign (random.random() > 0.5 flips it), in the same order as the official code.
            bool signed = op is 3 or 7 or 8 or 9 or 10 or 11 or 12 or 14 or 15;
            if (signed && rng.NextDouble() > 0.5) v = -v;
            double cx = 0, cy = 0;
            if (op == 13) { cx = rng.NextDouble(); cy = rng.NextDouble(); }
            description.Add($"{Names[op]} {v:G4}");
            double val = v;
            ops.Add(op switch
            {
                0 => (x, h, w) => AutoContrast(x, h * w),
                1 => (x, h, w) => Equalize(x, h * w),
                2 => (x, h, w) => { for (int i = 0; i < x.Length; i++) x[i] = 1f - x[i]; },
                3 => (x, h, w) => Rotate(x, h, w, val),
                4 => (x, h, w) => Posterize(x, 4 - (int)val),
                5 => (x, h, w) => Solarize(x, 256 - val),
                6 => (x, h, w) => SolarizeAdd(x, val),
                7 => (x, h, w) => ClipPixelOps.Saturation(x, h * w, (float)(1 - val)),
                8 => (x, h, w) => ClipPixelOps.Contrast(x, h * w, (float)(1 - val)),
                9 => (x, h, w) => ClipPixelOps.Brightness(x, (float)(1 - val)),
                10 => (x, h, w) => Sharpness(x, h, w, (float)(1 - val)),
                11 => (x, h, w) => Affine(x, h, w, 1, val, 0, 0, 1, 0),
                12 => (x, h, w) => Affine(x, h, w, 1, 0, 0, val, 1, 0),
                13 => (x, h, w) => Cutout(x, h, w, val * w, cx, cy),
                14 => (x, h, w) => Affine(x, h, w, 1, 0, val * w, 0, 1, 0),
                _ => (x, h, w) => Affine(x, h, w, 1, 0, 0, 0, 1, val * h),
            });
        }
    }

    private static int Byte(float v) => Math.Clamp((int)MathF.Round(v * 255f), 0, 255);

    private static void AutoContrast(float[] x, int plane)
    {
        for (int c = 0; c < 3; c++)
        {
            var p = x.AsSpan(c * plane, plane);
            int lo = 255, hi = 0;
            foreach (var v in p) { int b = Byte(v); lo = Math.Min(lo, b); hi = Math.Max(hi, b); }
            if (hi <= lo) continue;
            float scale = 255f / (hi - lo);
            for (int i = 0; i < plane; i++) p[i] = Math.Clamp((int)((Byte(p[i]) - lo) * scale), 0, 255) / 255f;
        }
    }

    // PIL.ImageOps.equalize per channel.
    private static void Equalize(float[] x, int plane)
    {
        for (int c = 0; c < 3; c++)
        {
            var p = x.AsSpan(c * plane, plane);
            var hist = new int[256];
            foreach (var v in p) hist[Byte(v)]++;
            int last = 255;
            while (last > 0 && hist[last] == 0) last--;
            int step = (plane - hist[last]) / 255;
            if (step == 0) continue;
            var lut = new int[256];
            int n = step / 2;
            for (int i = 0; i < 256; i++) { lut[i] = Math.Min(255, n / step); n += hist[i]; }
            for (int i = 0; i < plane; i++) p[i] = lut[Byte(p[i])] / 255f;
        }
    }

    private static void Posterize(float[] x, int bits)
    {
        int mask = ~((1 << (8 - Math.Clamp(bits, 0, 8))) - 1) & 0xff;
        for (int i = 0; i < x.Length; i++) x[i] = (Byte(x[i]) & mask) / 255f;
    }

    private static void Solarize(float[] x, double threshold)
    {
        for (int i = 0; i < x.Length; i++)
        {
            int b = Byte(x[i]);
            x[i] = (b >= threshold ? 255 - b : b) / 255f;
        }
    }

    private static void SolarizeAdd(float[] x, double add)
    {
        for (int i = 0; i < x.Length; i++)
        {
            int b = Byte(x[i]);
            x[i] = (b < 128 ? Math.Min(255, b + (int)add) : b) / 255f;
        }
    }

    // PIL.ImageEnhance.Sharpness: blend with the SMOOTH-filtered frame (kernel [1 1 1; 1 5 1; 1 1 1]/13, borders kept).
    private static void Sharpness(float[] x, int height, int width, float f)
    {
        int plane = height * width;
        var blurred = (float[])x.Clone();
        for (int c = 0; c < 3; c++)
            for (int y = 1; y < height - 1; y++)
                for (int xx = 1; xx < width - 1; xx++)
                {
                    float acc = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            acc += x[c * plane + (y + dy) * width + xx + dx] * (dy == 0 && dx == 0 ? 5f : 1f);
                    blurred[c * plane + y * width + xx] = acc / 13f;
                }
        for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(blurred[i] + f * (x[i] - blurred[i]), 0f, 1f);
    }

    // PIL Image.transform(AFFINE, (a, b, c, d, e, f)): output (x, y) takes input (a·x + b·y + c, d·x + e·y + f), pixel centres, nearest, black outside.
    private static void Affine(float[] x, int height, int width, double a, double b, double c, double d, double e, double f)
    {
        int plane = height * width;
        var src = (float[])x.Clone();
        for (int y = 0; y < height; y++)
            for (int xx = 0; xx < width; xx++)
            {
                double px = xx + 0.5, py = y + 0.5;
                int sx = (int)Math.Floor(a * px + b * py + c), sy = (int)Math.Floor(d * px + e * py + f);
                bool inside = (uint)sx < (uint)width && (uint)sy < (uint)height;
                for (int ch = 0; ch < 3; ch++) x[ch * plane + y * width + xx] = inside ? src[ch * plane + sy * width + sx] : 0f;
            }
    }

    // PIL Image.rotate(degrees): anticlockwise about the centre, nearest, black outside.
    private static void Rotate(float[] x, int height, int width, double degrees)
    {
        double t = -degrees * Math.PI / 180, cos = Math.Cos(t), sin = Math.Sin(t), cx = width / 2.0, cy = height / 2.0;
        // Inverse map of a rotation about (cx, cy).
        Affine(x, height, width, cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy);
    }

    private static void Cutout(float[] x, int height, int width, double side, double ux, double uy)
    {
        if (side < 0) return;
        int x0 = (int)Math.Max(0, ux * width - side / 2), y0 = (int)Math.Max(0, uy * height - side / 2);
        int x1 = (int)Math.Min(width, x0 + side), y1 = (int)Math.Min(height, y0 + side);
        var color = new[] { 125 / 255f, 123 / 255f, 114 / 255f };
        int plane = height * width;
        for (int c = 0; c < 3; c++)
            for (int y = y0; y < y1; y++)
                for (int xx = x0; xx < x1; xx++) x[c * plane + y * width + xx] = color[c];
    }
}
