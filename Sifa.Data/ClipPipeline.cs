namespace Sifa.Data;

/// <summary>How test-time clips are cropped.</summary>
public enum TestCropMode
{
    /// <summary>One centred square crop.</summary>
    Center,

    /// <summary>Three square crops along the long side (left/centre/right or top/centre/bottom); triples the views.</summary>
    ThreeCrop,
}

/// <summary>
/// Spatial augmentation and normalisation settings (mmaction2-style). Training: resize the short
/// side to a random size in [<see cref="ShortSideMin"/>, <see cref="ShortSideMax"/>], take a random
/// <see cref="CropSize"/> square, flip horizontally with probability <see cref="FlipProbability"/>.
/// Testing: resize the short side to <see cref="TestShortSide"/>, then centre or three
/// <see cref="TestCropSize"/> crops. Finally ImageNet normalisation on [0, 1] RGB.
/// </summary>
public sealed record ClipTransformOptions
{
    /// <summary>Smallest random short side in training.</summary>
    public int ShortSideMin { get; init; } = 256;

    /// <summary>Largest random short side in training (inclusive).</summary>
    public int ShortSideMax { get; init; } = 340;

    /// <summary>Training crop size (square).</summary>
    public int CropSize { get; init; } = 224;

    /// <summary>Random horizontal flips in training (turn off for direction-sensitive data such as left/right motion).</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Probability of a flip when <see cref="HorizontalFlip"/> is on.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Test-time short side.</summary>
    public int TestShortSide { get; init; } = 256;

    /// <summary>Test-time crop size (square).</summary>
    public int TestCropSize { get; init; } = 256;

    /// <summary>Test-time cropping.</summary>
    public TestCropMode TestCrop { get; init; } = TestCropMode.Center;

    /// <summary>Normalise with <see cref="Mean"/> / <see cref="Std"/>; otherwise values are on [0, 1].</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Channel means (RGB, on [0, 1]).</summary>
    public IReadOnlyList<float> Mean { get; init; } = ImageOps.ImageNetMean;

    /// <summary>Channel standard deviations (RGB, on [0, 1]).</summary>
    public IReadOnlyList<float> Std { get; init; } = ImageOps.ImageNetStd;

    /// <summary>Training augmentations beyond crop and flip (RandomResizedCrop, colour jitter, RandAugment, …; none by default).</summary>
    public ClipAugmentOptions Augment { get; init; } = ClipAugmentOptions.None;

    /// <summary>
    /// Let ffmpeg scale frames to the chosen short side while decoding (less data through the pipe);
    /// otherwise frames come at native size and are resized bilinearly in C#.
    /// </summary>
    public bool ResizeInFfmpeg { get; init; } = true;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (CropSize <= 0 || TestCropSize <= 0) throw new ArgumentException("crop sizes must be positive");
        if (ShortSideMin < CropSize || ShortSideMax < ShortSideMin)
            throw new ArgumentException($"need CropSize ({CropSize}) <= ShortSideMin ({ShortSideMin}) <= ShortSideMax ({ShortSideMax})");
        if (TestShortSide < TestCropSize) throw new ArgumentException($"TestShortSide ({TestShortSide}) must be at least TestCropSize ({TestCropSize})");
        if (FlipProbability is < 0 or > 1) throw new ArgumentException("FlipProbability must be in [0, 1]");
        if (Mean.Count != 3 || Std.Count != 3 || Std.Any(s => !(s > 0))) throw new ArgumentException("Mean and Std need three values, Std positive");
        Augment.Validate();
    }
}

/// <summary>
/// Turns one video (an <see cref="IFrameSource"/>) into a sample: frame sampling, decoding (with
/// optional ffmpeg-side scaling), bilinear resize, crop(s), flip and normalisation, fused into a
/// single pass from decoded bytes to the (Views, T, 3, H, W) float output.
/// </summary>
public sealed class ClipPipeline
{
    private readonly float[] _scale = new float[3], _bias = new float[3];

    /// <summary>Creates a pipeline.</summary>
    /// <param name="sampler">Which frames make a clip.</param>
    /// <param name="training">Training (random sampling and augmentation) or test mode.</param>
    /// <param name="transform">Spatial settings (defaults when null).</param>
    /// <param name="decode">Decoder settings (defaults when null).</param>
    public ClipPipeline(FrameSampler sampler, bool training, ClipTransformOptions? transform = null, DecodeOptions? decode = null)
    {
        Sampler = sampler;
        Training = training;
        Transform = transform ?? new ClipTransformOptions();
        Transform.Validate();
        Decode = decode ?? DecodeOptions.Default;
        for (int c = 0; c < 3; c++)
        {
            // v = (byte / 255 - mean) / std  ==  byte * scale + bias
            float std = Transform.Normalize ? Transform.Std[c] : 1f, mean = Transform.Normalize ? Transform.Mean[c] : 0f;
            _scale[c] = 1f / (255f * std);
            _bias[c] = -mean / std;
        }
    }

    /// <summary>The frame sampler.</summary>
    public FrameSampler Sampler { get; }

    /// <summary>Training or test mode.</summary>
    public bool Training { get; }

    /// <summary>Spatial settings.</summary>
    public ClipTransformOptions Transform { get; }

    /// <summary>Decoder settings.</summary>
    public DecodeOptions Decode { get; }

    /// <summary>Crops per clip (3 for three-crop testing, else 1).</summary>
    public int CropsPerClip => !Training && Transform.TestCrop == TestCropMode.ThreeCrop ? 3 : 1;

    /// <summary>Views per sample: clips times crops.</summary>
    public int ViewsPerSample => Sampler.ClipsPerSample(Training) * CropsPerClip;

    /// <summary>Output frame side (square).</summary>
    public int OutputSize => Training ? Transform.CropSize : Transform.TestCropSize;

    /// <summary>Loads one sample from a frame source.</summary>
    /// <param name="source">The video or frame folder.</param>
    /// <param name="label">The sample's label.</param>
    /// <param name="rng">Random source for sampling and augmentation.</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>The sample, (Views, T, 3, S, S).</returns>
    /// <exception cref="SampleLoadException">The input is missing or corrupt.</exception>
    public VideoSample Run(IFrameSource source, int label, Random rng, CancellationToken cancellationToken = default)
    {
        var info = source.Probe(cancellationToken);
        int T = Sampler.FramesPerClip, clips = Sampler.ClipsPerSample(Training);
        var indices = Sampler.Sample(info.FrameCount, Training, rng);
        if (indices.Length != clips * T) throw new InvalidOperationException($"sampler returned {indices.Length} indices, expected {clips * T}");

        if (Training && Transform.Augment.IsActive) return RunAugmented(source, info, indices, label, rng, cancellationToken);

        // Spatial parameters (drawn in a fixed order so that a seed fixes the sample).
        int shortSide = Training ? rng.Next(Transform.ShortSideMin, Transform.ShortSideMax + 1) : Transform.TestShortSide;
        var (rh, rw) = ImageOps.ShortSideSize(info.Height, info.Width, shortSide);
        int size = OutputSize;
        (int Y, int X)[] crops;
        bool flip = false;
        if (Training)
        {
            crops = new[] { (rng.Next(rh - size + 1), rng.Next(rw - size + 1)) };
            flip = Transform.HorizontalFlip && rng.NextDouble() < Transform.FlipProbability;
        }
        else
        {
            crops = Transform.TestCrop == TestCropMode.ThreeCrop
                ? ImageOps.ThreeCropOffsets(rh, rw, size)
                : new[] { ImageOps.CenterCropOffset(rh, rw, size) };
        }

        var (frames, position) = DecodeOnce(source, info, indices, rh, rw, cancellationToken);

        int views = clips * crops.Length, plane = size * size;
        var data = GC.AllocateUninitializedArray<float>(views * T * 3 * plane);
        for (int k = 0; k < crops.Length; k++)
        {
            var rows = TapsWindow(frames.Height, rh, crops[k].Y, size);
            var cols = TapsWindow(frames.Width, rw, crops[k].X, size);
            if (flip) { Array.Reverse(cols.I0); Array.Reverse(cols.I1); Array.Reverse(cols.W); }
            for (int c = 0; c < clips; c++)
                for (int t = 0; t < T; t++)
                {
                    int view = c * crops.Length + k;
                    RenderFrame(frames.Frame(position[indices[c * T + t]]), frames.Width, rows, cols,
                        data.AsSpan(((view * T) + t) * 3 * plane, 3 * plane), size, size, _scale, _bias);
                }
        }
        return new VideoSample(data, label, views, T, size, size);
    }

    // Decodes each needed frame once (resized to rh×rw by ffmpeg when asked); position maps a frame index to its slot.
    private (RgbFrames Frames, Dictionary<int, int> Position) DecodeOnce(IFrameSource source, VideoInfo info, int[] indices,
        int rh, int rw, CancellationToken cancellationToken)
    {
        var unique = indices.Distinct().Order().ToArray();
        var position = new Dictionary<int, int>(unique.Length);
        for (int i = 0; i < unique.Length; i++) position[unique[i]] = i;
        int decW = Transform.ResizeInFfmpeg ? rw : info.Width, decH = Transform.ResizeInFfmpeg ? rh : info.Height;
        var frames = source.Decode(unique, decW, decH, cancellationToken);
        if (frames.Count != unique.Length || frames.Width != decW || frames.Height != decH)
            throw new SampleLoadException(source.Path, $"decoder returned {frames.Count} frames of {frames.Width}x{frames.Height}, expected {unique.Length} of {decW}x{decH}");
        return (frames, position);
    }

    private static readonly float[] UnitScale = { 1f / 255f, 1f / 255f, 1f / 255f }, ZeroBias = new float[3];

    /// <summary>
    /// A training sample with <see cref="ClipTransformOptions.Augment"/> on: the crop window (short-side, random-resized or
    /// multi-scale), the flip and the pixel operations are drawn once, in that order, and applied to every frame alike.
    /// Pixel operations work on [0, 1] values, normalisation comes last.
    /// </summary>
    private VideoSample RunAugmented(IFrameSource source, VideoInfo info, int[] indices, int label, Random rng, CancellationToken cancellationToken)
    {
        var a = Transform.Augment;
        int T = Sampler.FramesPerClip, size = Transform.CropSize;
        int shortSide = a.Crop == TrainCropMode.ShortSide ? rng.Next(Transform.ShortSideMin, Transform.ShortSideMax + 1) : Transform.ShortSideMin;
        var (rh, rw) = ImageOps.ShortSideSize(info.Height, info.Width, shortSide);
        var win = a.Crop switch
        {
            TrainCropMode.RandomResized => CropWindows.RandomResized(rh, rw, a.ScaleMin, a.ScaleMax, a.RatioMin, a.RatioMax, rng),
            TrainCropMode.MultiScale => CropWindows.MultiScale(rh, rw, size, a.MultiScales, rng),
            _ => new CropWindow(rng.Next(rh - size + 1), rng.Next(rw - size + 1), size, size),
        };
        bool flip = Transform.HorizontalFlip && rng.NextDouble() < Transform.FlipProbability;
        var pixels = ClipPixelOps.Draw(a, rng);

        var (frames, position) = DecodeOnce(source, info, indices, rh, rw, cancellationToken);

        var rows = ImageOps.WindowTaps(frames.Height, rh, win.Y, win.Height, size);
        var cols = ImageOps.WindowTaps(frames.Width, rw, win.X, win.Width, size);
        if (flip) { Array.Reverse(cols.I0); Array.Reverse(cols.I1); Array.Reverse(cols.W); }
        int plane = size * size;
        var data = GC.AllocateUninitializedArray<float>(T * 3 * plane);
        var frame = new float[3 * plane];
        for (int t = 0; t < T; t++)
        {
            RenderFrame(frames.Frame(position[indices[t]]), frames.Width, rows, cols, frame, size, size, UnitScale, ZeroBias);
            pixels.Apply(frame, size, size);
            var dst = data.AsSpan(t * 3 * plane, 3 * plane);
            for (int c = 0; c < 3; c++)
            {
                // (v − mean) / std, as v·scale + bias with the byte scale folded out.
                float sc = _scale[c] * 255f, b = _bias[c];
                for (int i = 0; i < plane; i++) dst[c * plane + i] = frame[c * plane + i] * sc + b;
            }
        }
        return new VideoSample(data, label, 1, T, size, size);
    }

    /// <summary>Bilinear taps for output pixels [offset, offset + count) of a resize from inSize to virtualSize.</summary>
    private static (int[] I0, int[] I1, float[] W) TapsWindow(int inSize, int virtualSize, int offset, int count)
    {
        var i0 = new int[count];
        var i1 = new int[count];
        var w = new float[count];
        if (inSize == virtualSize)
        {
            for (int o = 0; o < count; o++) { i0[o] = i1[o] = offset + o; }
            return (i0, i1, w);
        }
        var (a, b, f) = ImageOps.Taps(inSize, virtualSize);
        Array.Copy(a, offset, i0, 0, count);
        Array.Copy(b, offset, i1, 0, count);
        Array.Copy(f, offset, w, 0, count);
        return (i0, i1, w);
    }

    /// <summary>One RGB24 frame to a normalised planar (3, outH, outW) crop, resampling bilinearly through the taps.</summary>
    private static void RenderFrame(ReadOnlySpan<byte> src, int srcWidth, (int[] I0, int[] I1, float[] W) rows, (int[] I0, int[] I1, float[] W) cols,
        Span<float> dst, int outH, int outW, float[] scale, float[] bias)
    {
        int plane = outH * outW, stride = srcWidth * 3;
        float s0 = scale[0], s1 = scale[1], s2 = scale[2], b0 = bias[0], b1 = bias[1], b2 = bias[2];
        var dr = dst[..plane];
        var dg = dst.Slice(plane, plane);
        var db = dst.Slice(2 * plane, plane);
        for (int y = 0; y < outH; y++)
        {
            var r0 = src.Slice(rows.I0[y] * stride, stride);
            var r1 = src.Slice(rows.I1[y] * stride, stride);
            float fy = rows.W[y];
            int o = y * outW;
            if (fy == 0f)
            {
                for (int x = 0; x < outW; x++, o++)
                {
                    int a = cols.I0[x] * 3, b = cols.I1[x] * 3;
                    float fx = cols.W[x];
                    dr[o] = (r0[a] + (r0[b] - r0[a]) * fx) * s0 + b0;
                    dg[o] = (r0[a + 1] + (r0[b + 1] - r0[a + 1]) * fx) * s1 + b1;
                    db[o] = (r0[a + 2] + (r0[b + 2] - r0[a + 2]) * fx) * s2 + b2;
                }
                continue;
            }
            for (int x = 0; x < outW; x++, o++)
            {
                int a = cols.I0[x] * 3, b = cols.I1[x] * 3;
                float fx = cols.W[x];
                for (int c = 0; c < 3; c++)
                {
                    float top = r0[a + c] + (r0[b + c] - r0[a + c]) * fx;
                    float bot = r1[a + c] + (r1[b + c] - r1[a + c]) * fx;
                    float v = top + (bot - top) * fy;
                    dst[c * plane + o] = v * scale[c] + bias[c];
                }
            }
        }
    }
}
