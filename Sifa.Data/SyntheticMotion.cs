using Sifa.Tensors;

namespace Sifa.Data;

/// <summary>Which part of a generated dataset.</summary>
public enum DatasetSplit
{
    /// <summary>The training part.</summary>
    Train,

    /// <summary>The validation part (different samples from the training part).</summary>
    Validation,
}

/// <summary>Settings of the <c>synthetic-motion</c> dataset.</summary>
public sealed record SyntheticMotionOptions
{
    /// <summary>Frames per clip (T).</summary>
    public int Frames { get; init; } = 8;

    /// <summary>Frame side in pixels (S; frames are S x S).</summary>
    public int Size { get; init; } = 64;

    /// <summary>Samples in the training split.</summary>
    public int TrainCount { get; init; } = 4096;

    /// <summary>Samples in the validation split.</summary>
    public int ValidationCount { get; init; } = 512;

    /// <summary>The seed: together with the split and index it fixes every sample.</summary>
    public int Seed { get; init; }

    /// <summary>ImageNet-normalise the frames; otherwise values are RGB on [0, 1].</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Standard size of the per-frame pixel noise (on [0, 1]).</summary>
    public float NoiseLevel { get; init; } = 0.03f;

    /// <summary>Most static distractor shapes drawn into a background.</summary>
    public int MaxDistractors { get; init; } = 2;
}

/// <summary>
/// <c>synthetic-motion</c>: a procedural video dataset generated on the fly (no download). A textured
/// shape (circle, square, triangle, cross, diamond, ring, L, half-disc; stripes, checker, noise or
/// rings; random colours) moves over a cluttered random background (blobs, static distractor shapes,
/// pixel noise), deforming slightly as it moves. The 8 classes are 4 time-reversed pairs: move
/// left/right, move up/down, rotate clockwise/anticlockwise, grow/shrink. A clip of class 2k+1 is a clip
/// of class 2k played backwards (same random draws), so a single frame or any frame-order-blind model
/// cannot beat 50%; only temporal order separates a pair. Deterministic from (seed, split, index).
/// </summary>
public sealed class SyntheticMotionDataset : IVideoDataset
{
    /// <summary>The dataset's name in configurations.</summary>
    public const string Name = "synthetic-motion";

    /// <summary>The class names, by label; label ^ 1 is the time-reversed class.</summary>
    public static IReadOnlyList<string> MotionClassNames { get; } = new[]
    {
        "move_left", "move_right", "move_up", "move_down", "rotate_clockwise", "rotate_anticlockwise", "grow", "shrink",
    };

    private static readonly float[] Mean = { 0.485f, 0.456f, 0.406f };
    private static readonly float[] Std = { 0.229f, 0.224f, 0.225f };

    [ThreadStatic] private static float[]? _bg;
    [ThreadStatic] private static float[]? _frame;

    /// <summary>Creates one split of the dataset.</summary>
    /// <param name="options">Settings (defaults when null).</param>
    /// <param name="split">Training or validation samples.</param>
    public SyntheticMotionDataset(SyntheticMotionOptions? options = null, DatasetSplit split = DatasetSplit.Train)
    {
        Options = options ?? new SyntheticMotionOptions();
        if (Options.Frames < 2) throw new ArgumentException("synthetic-motion needs at least 2 frames");
        if (Options.Size < 16) throw new ArgumentException("synthetic-motion needs frames of at least 16 x 16");
        Split = split;
        Count = split == DatasetSplit.Train ? Options.TrainCount : Options.ValidationCount;
        if (Count < 0) throw new ArgumentException("sample counts cannot be negative");
    }

    /// <summary>The settings.</summary>
    public SyntheticMotionOptions Options { get; }

    /// <summary>The split.</summary>
    public DatasetSplit Split { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames => MotionClassNames;

    /// <summary>The label of the time-reversed class.</summary>
    /// <param name="label">A label.</param>
    /// <returns>Its pair's other label.</returns>
    public static int ReversedClass(int label) => label ^ 1;

    /// <inheritdoc />
    public int GetLabel(int index) => index % 8;

    /// <inheritdoc />
    public string GetSource(int index) => $"{Name}/{(Split == DatasetSplit.Train ? "train" : "val")}/{index}";

    /// <summary>The random seed a sample is drawn from.</summary>
    /// <param name="index">The sample index.</param>
    /// <returns>The seed.</returns>
    public ulong SampleSeed(int index) => SeedMix.Combine64(Options.Seed, (int)Split, index, 0x6d6f74);

    /// <summary>Generates a sample; it depends only on (seed, split, index): <paramref name="rng"/> is not used.</summary>
    /// <param name="index">The sample index.</param>
    /// <param name="rng">Unused.</param>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>One view of (T, 3, S, S).</returns>
    public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"dataset has {Count} samples");
        int label = GetLabel(index);
        var data = Render(label, SampleSeed(index), Options.Frames, Options.Size, Options.Normalize, Options.NoiseLevel, Options.MaxDistractors);
        return new VideoSample(data, label, 1, Options.Frames, Options.Size, Options.Size);
    }

    /// <summary>
    /// Renders one clip of a class from a seed, (T, 3, S, S). The two classes of a pair share all random
    /// draws: Render(2k + 1, s) is Render(2k, s) with the frames in reverse order.
    /// </summary>
    /// <param name="label">The class (0..7).</param>
    /// <param name="seed">The sample's seed.</param>
    /// <param name="frames">Frames T.</param>
    /// <param name="size">Frame side S.</param>
    /// <param name="normalize">ImageNet-normalise (else [0, 1] RGB).</param>
    /// <param name="noiseLevel">Per-frame pixel noise.</param>
    /// <param name="maxDistractors">Most static distractor shapes.</param>
    /// <returns>The clip.</returns>
    public static float[] Render(int label, ulong seed, int frames, int size, bool normalize = true, float noiseLevel = 0.03f, int maxDistractors = 2)
    {
        if ((uint)label >= 8) throw new ArgumentOutOfRangeException(nameof(label), label, "synthetic-motion has 8 classes");
        var dst = GC.AllocateUninitializedArray<float>(frames * 3 * size * size);
        RenderInto(dst, label, seed, frames, size, normalize, noiseLevel, maxDistractors);
        return dst;
    }

    private struct Shape
    {
        public int Kind, Texture;
        public float R1, G1, B1, R2, G2, B2, Freq, TexCos, TexSin;
        public uint TexSeed;
    }

    private static void RenderInto(float[] dst, int label, ulong seed, int T, int S, bool normalize, float noiseLevel, int maxDistractors)
    {
        var rng = new FastRng(seed);
        int plane = S * S;
        var bg = _bg is { Length: var n } && n == 3 * plane ? _bg : _bg = new float[3 * plane];
        var frame = _frame is { Length: var m } && m == 3 * plane ? _frame : _frame = new float[3 * plane];

        // ---- background: base colour, soft clutter blobs, static distractors, fixed pixel noise
        float br = rng.Range(0.15f, 0.85f), bgG = rng.Range(0.15f, 0.85f), bb = rng.Range(0.15f, 0.85f);
        bg.AsSpan(0, plane).Fill(br);
        bg.AsSpan(plane, plane).Fill(bgG);
        bg.AsSpan(2 * plane, plane).Fill(bb);
        int blobs = 4 + rng.Int(7);
        for (int i = 0; i < blobs; i++)
        {
            float cx = rng.Range(0, S), cy = rng.Range(0, S);
            float rx = S * rng.Range(0.06f, 0.25f), ry = S * rng.Range(0.06f, 0.25f);
            float alpha = rng.Range(0.2f, 0.6f);
            float r = rng.NextFloat(), g = rng.NextFloat(), b = rng.NextFloat();
            bool rect = rng.Int(2) == 0;
            int x0 = Math.Max(0, (int)(cx - rx)), x1 = Math.Min(S - 1, (int)(cx + rx));
            int y0 = Math.Max(0, (int)(cy - ry)), y1 = Math.Min(S - 1, (int)(cy + ry));
            float irx = 1f / rx, iry = 1f / ry;
            for (int y = y0; y <= y1; y++)
            {
                float v = (y + 0.5f - cy) * iry;
                for (int x = x0; x <= x1; x++)
                {
                    float u = (x + 0.5f - cx) * irx;
                    if (!rect && u * u + v * v > 1f) continue;
                    int p = y * S + x;
                    bg[p] += (r - bg[p]) * alpha;
                    bg[plane + p] += (g - bg[plane + p]) * alpha;
                    bg[2 * plane + p] += (b - bg[2 * plane + p]) * alpha;
                }
            }
        }
        float baseRadius = S * rng.Range(0.16f, 0.23f);
        int distractors = maxDistractors > 0 ? rng.Int(maxDistractors + 1) : 0;
        for (int i = 0; i < distractors; i++)
        {
            var d = RandomShape(ref rng, br, bgG, bb);
            Draw(bg, S, d, rng.Range(0, S), rng.Range(0, S), baseRadius * rng.Range(0.5f, 0.9f), rng.Range(0, 6.2832f), 1f, 1f);
        }
        if (3 * plane <= NoiseTable.Length / 2)
        {
            int off = rng.Int(NoiseTable.Length - 3 * plane);
            for (int i = 0; i < 3 * plane; i++) bg[i] += NoiseTable[off + i] * 0.08f;
        }
        else
        {
            for (int i = 0; i < 3 * plane; i++) bg[i] += (rng.NextFloat() - 0.5f) * 0.08f;
        }

        // ---- the moving object and its (forward) trajectory for the class pair
        var obj = RandomShape(ref rng, br, bgG, bb);
        int pair = label >> 1;
        bool reverse = (label & 1) == 1;
        float half = (T - 1) / 2f;
        float angle0 = rng.Range(0, 6.2832f);
        float wobbleAmp = rng.Range(0.03f, 0.08f), wobbleFreq = rng.Range(0.5f, 1.1f), wobblePhase = rng.Range(0, 6.2832f);
        float spin = rng.Range(-0.03f, 0.03f);                          // slight rotation drift for every class
        float margin = baseRadius * 1.1f;
        float vx = 0, vy = 0, growth = 1f, elongation = 1f;
        float cx0, cy0;
        switch (pair)
        {
            case 0:
            case 1:
            {
                // translation: several pixels per frame, kept inside the frame
                float speed = Math.Min(S * rng.Range(0.06f, 0.09f), (S - 2 * margin - 2) / (T - 1));
                float drift = speed * rng.Range(-0.12f, 0.12f);
                float travel = speed * (T - 1);
                float along = Centre(ref rng, S, margin + travel / 2), across = Centre(ref rng, S, margin + Math.Abs(drift) * half);
                if (pair == 0) { vx = -speed; vy = drift; cx0 = along; cy0 = across; }     // left
                else { vy = -speed; vx = drift; cy0 = along; cx0 = across; }               // up
                break;
            }
            case 2:
            {
                // A rotation's motion field turns across the object (a curl), which a small network cannot resolve on its
                // coarse feature maps; an elongated object makes its orientation, and so the rotation, visible at coarse
                // scale. A rings texture (unchanged by rotation) is drawn as stripes.
                elongation = 1.8f;
                baseRadius = Math.Min(baseRadius * 1.15f, S * 0.25f);
                margin = baseRadius * elongation * 1.05f;
                if (obj.Texture == 3) obj.Texture = 0;
                spin = rng.Range(0.3f, 0.45f);                                            // clockwise (angle grows, y points down)
                vx = rng.Range(-0.3f, 0.3f); vy = rng.Range(-0.3f, 0.3f);
                cx0 = Centre(ref rng, S, margin + 0.3f * half); cy0 = Centre(ref rng, S, margin + 0.3f * half);
                break;
            }
            default:
            {
                float maxGrowth = MathF.Pow(0.42f * S / baseRadius, 1f / Math.Max(half, 0.5f));
                growth = Math.Min(rng.Range(1.12f, 1.18f), maxGrowth);                   // grow
                vx = rng.Range(-0.3f, 0.3f); vy = rng.Range(-0.3f, 0.3f);
                float extent = baseRadius * MathF.Pow(growth, half) * 1.1f;
                cx0 = Centre(ref rng, S, extent + 0.3f * half); cy0 = Centre(ref rng, S, extent + 0.3f * half);
                break;
            }
        }

        // ---- frames (generated forward; the reversed class writes them backwards)
        float invStd0 = normalize ? 1f / Std[0] : 1f, invStd1 = normalize ? 1f / Std[1] : 1f, invStd2 = normalize ? 1f / Std[2] : 1f;
        float m0 = normalize ? Mean[0] : 0f, m1 = normalize ? Mean[1] : 0f, m2 = normalize ? Mean[2] : 0f;
        float noiseAmp = noiseLevel * 3.4641f;                                           // uniform noise with that std
        bool tableNoise = 3 * plane <= NoiseTable.Length / 2;
        for (int t = 0; t < T; t++)
        {
            float tc = t - half;
            Array.Copy(bg, frame, 3 * plane);
            float w = wobbleAmp * MathF.Sin(wobblePhase + wobbleFreq * t);
            Draw(frame, S, obj, cx0 + vx * tc, cy0 + vy * tc, baseRadius * MathF.Pow(growth, tc), angle0 + spin * tc, (1f + w) * elongation, (1f - w) / elongation);
            int outT = reverse ? T - 1 - t : t;
            var o = dst.AsSpan(outT * 3 * plane, 3 * plane);
            if (tableNoise)
            {
                // Per-frame noise: a random window of a fixed table of uniform noise.
                int off = rng.Int(NoiseTable.Length - 3 * plane);
                var noise = NoiseTable.AsSpan(off, 3 * plane);
                NoisyNormalize(frame.AsSpan(0, plane), noise[..plane], noiseAmp, m0, invStd0, o[..plane]);
                NoisyNormalize(frame.AsSpan(plane, plane), noise.Slice(plane, plane), noiseAmp, m1, invStd1, o.Slice(plane, plane));
                NoisyNormalize(frame.AsSpan(2 * plane, plane), noise.Slice(2 * plane, plane), noiseAmp, m2, invStd2, o.Slice(2 * plane, plane));
            }
            else
            {
                for (int i = 0; i < plane; i++)
                {
                    uint bits = rng.NextUInt();
                    float n0 = ((bits & 0x3FF) * (1f / 1023f) - 0.5f) * noiseAmp;
                    float n1 = (((bits >> 10) & 0x3FF) * (1f / 1023f) - 0.5f) * noiseAmp;
                    float n2 = (((bits >> 20) & 0x3FF) * (1f / 1023f) - 0.5f) * noiseAmp;
                    o[i] = (Math.Clamp(frame[i] + n0, 0f, 1f) - m0) * invStd0;
                    o[plane + i] = (Math.Clamp(frame[plane + i] + n1, 0f, 1f) - m1) * invStd1;
                    o[2 * plane + i] = (Math.Clamp(frame[2 * plane + i] + n2, 0f, 1f) - m2) * invStd2;
                }
            }
        }
    }

    /// <summary>Uniform noise on [-0.5, 0.5), generated once from a fixed seed.</summary>
    private static readonly float[] NoiseTable = MakeNoiseTable(1 << 18);

    private static float[] MakeNoiseTable(int n)
    {
        var rng = new FastRng(0x6E6F697365UL);
        var table = new float[n];
        for (int i = 0; i < n; i++) table[i] = rng.NextFloat() - 0.5f;
        return table;
    }

    /// <summary>dst = (clamp(src + amp * noise, 0, 1) - mean) * invStd, vectorised (element-wise, so the result equals the scalar loop's).</summary>
    private static void NoisyNormalize(ReadOnlySpan<float> src, ReadOnlySpan<float> noise, float amp, float mean, float invStd, Span<float> dst)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int w = System.Numerics.Vector<float>.Count;
            var vAmp = new System.Numerics.Vector<float>(amp);
            var vMean = new System.Numerics.Vector<float>(mean);
            var vInv = new System.Numerics.Vector<float>(invStd);
            for (; i <= src.Length - w; i += w)
            {
                var v = new System.Numerics.Vector<float>(src.Slice(i)) + new System.Numerics.Vector<float>(noise.Slice(i)) * vAmp;
                v = System.Numerics.Vector.Min(System.Numerics.Vector.Max(v, System.Numerics.Vector<float>.Zero), System.Numerics.Vector<float>.One);
                ((v - vMean) * vInv).CopyTo(dst.Slice(i));
            }
        }
        for (; i < src.Length; i++)
            dst[i] = (Math.Clamp(src[i] + noise[i] * amp, 0f, 1f) - mean) * invStd;
    }

    private static float Centre(ref FastRng rng, int S, float margin) =>
        margin * 2 >= S ? S / 2f : rng.Range(margin, S - margin);

    private static Shape RandomShape(ref FastRng rng, float br, float bg, float bb)
    {
        var s = new Shape { Kind = rng.Int(8), Texture = rng.Int(4), Freq = rng.Range(1.2f, 2.6f), TexSeed = rng.NextUInt() };
        float ta = rng.Range(0, 3.1416f);
        s.TexCos = MathF.Cos(ta);
        s.TexSin = MathF.Sin(ta);
        s.R1 = rng.NextFloat(); s.G1 = rng.NextFloat(); s.B1 = rng.NextFloat();
        s.R2 = rng.NextFloat(); s.G2 = rng.NextFloat(); s.B2 = rng.NextFloat();
        // Keep the shape visible: push its first colour away from the background colour when too close.
        float d = (Math.Abs(s.R1 - br) + Math.Abs(s.G1 - bg) + Math.Abs(s.B1 - bb)) / 3f;
        if (d < 0.25f)
        {
            s.R1 = br > 0.5f ? br - 0.45f : br + 0.45f;
            s.G1 = bg > 0.5f ? bg - 0.45f : bg + 0.45f;
            s.B1 = bb > 0.5f ? bb - 0.45f : bb + 0.45f;
        }
        return s;
    }

    /// <summary>Draws a textured shape: local coordinates (u, v) = rotated, anisotropically scaled pixel offsets.</summary>
    private static void Draw(float[] img, int S, in Shape s, float cx, float cy, float radius, float angle, float sx, float sy)
    {
        int plane = S * S;
        float ca = MathF.Cos(angle), sa = MathF.Sin(angle);
        float ext = radius * Math.Max(sx, sy) * 1.42f + 1;
        int x0 = Math.Max(0, (int)(cx - ext)), x1 = Math.Min(S - 1, (int)(cx + ext));
        int y0 = Math.Max(0, (int)(cy - ext)), y1 = Math.Min(S - 1, (int)(cy + ext));
        float irx = 1f / (radius * sx), iry = 1f / (radius * sy);
        float f = s.Freq;
        for (int y = y0; y <= y1; y++)
        {
            float dy = y + 0.5f - cy;
            for (int x = x0; x <= x1; x++)
            {
                float dx = x + 0.5f - cx;
                float u = (dx * ca + dy * sa) * irx, v = (-dx * sa + dy * ca) * iry;
                if (!Inside(s.Kind, u, v)) continue;
                float m;
                switch (s.Texture)
                {
                    case 0: // stripes
                    {
                        float q = (u * s.TexCos + v * s.TexSin) * f + 8f;
                        m = q - MathF.Floor(q) < 0.5f ? 0f : 1f;
                        break;
                    }
                    case 1: // checker
                        m = (((int)MathF.Floor(u * f + 8f) + (int)MathF.Floor(v * f + 8f)) & 1) == 0 ? 0f : 1f;
                        break;
                    case 2: // blocky noise
                    {
                        uint h = Hash((uint)(int)MathF.Floor(u * f * 2f + 16f), (uint)(int)MathF.Floor(v * f * 2f + 16f), s.TexSeed);
                        m = (h & 0xFF) * (1f / 255f);
                        break;
                    }
                    default: // concentric rings
                    {
                        float q = MathF.Sqrt(u * u + v * v) * f * 1.5f;
                        m = q - MathF.Floor(q) < 0.5f ? 0f : 1f;
                        break;
                    }
                }
                int p = y * S + x;
                img[p] = s.R1 + (s.R2 - s.R1) * m;
                img[plane + p] = s.G1 + (s.G2 - s.G1) * m;
                img[2 * plane + p] = s.B1 + (s.B2 - s.B1) * m;
            }
        }
    }

    private static bool Inside(int kind, float u, float v)
    {
        float au = Math.Abs(u), av = Math.Abs(v);
        return kind switch
        {
            0 => u * u + v * v <= 1f,                                                    // circle
            1 => au <= 0.85f && av <= 0.85f,                                             // square
            2 => v <= 0.6f && v >= -0.9f && au <= (v + 0.9f) * 0.6f,                     // triangle
            3 => (au <= 0.3f && av <= 0.95f) || (av <= 0.3f && au <= 0.95f),             // cross
            4 => au + av <= 1f,                                                          // diamond
            5 => u * u + v * v is >= 0.4f and <= 1f,                                     // ring
            6 => (au <= 0.9f && v >= 0.3f && v <= 0.9f) || (u >= -0.9f && u <= -0.3f && av <= 0.9f), // L
            _ => u * u + v * v <= 1f && v >= -0.1f,                                      // half-disc
        };
    }

    private static uint Hash(uint a, uint b, uint seed)
    {
        uint h = seed ^ (a * 0x9E3779B1u) ^ (b * 0x85EBCA77u);
        h ^= h >> 15; h *= 0x2C1B3C6Du;
        h ^= h >> 12; h *= 0x297A2D39u;
        return h ^ (h >> 15);
    }

    /// <summary>A small, fast deterministic generator (SplitMix64).</summary>
    private struct FastRng
    {
        private ulong _s;

        public FastRng(ulong seed) => _s = seed;

        public ulong Next() => Generator.SplitMix(ref _s);

        public uint NextUInt() => (uint)(Next() >> 32);

        public float NextFloat() => (Next() >> 40) * (1f / (1 << 24));

        public float Range(float a, float b) => a + (b - a) * NextFloat();

        public int Int(int n) => (int)((Next() >> 33) % (ulong)n);
    }
}
