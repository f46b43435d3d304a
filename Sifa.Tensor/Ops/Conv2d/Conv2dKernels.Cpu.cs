using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sifa.Tensors.Cpu;

// 2-D convolution on NCHW, per image (and group) one product of the weights W (Cout/g × K, K = Cin/g·kh·kw) with the
// image's columns. Which columns, by shape (ConvShape; measured on 2 cores, see PERFORMANCE.md):
//   * 1×1, stride 1, no padding: the image itself (Direct);
//   * larger kernels where the output is wide enough (or narrow in channels): the implicit GEMM on the zero-padded image
//     (ImplicitGemm: forward and dW at any stride via phase grids, dx at stride 1), with nothing unfolded;
//   * otherwise the im2col unfolding (Unfold.Cpu.cs): in L2-sized column chunks when an image has a core to itself,
//     several small images side by side per product (layer3/4), or whole with the GEMM on all cores (a single image).
// Backward (Conv2dBackward.Cpu.cs): dW += dY·colsᵀ (per-part accumulators), dx from dcols = Wᵀ·dY folded back (col2im)
// or the implicit GEMM; dbias = Σ dY. The batch is split over the cores, each image a serial product; a batch too small
// for that runs its images one after another with the products on all cores. Shapes are checked by CpuBackend first.
internal static partial class Conv2dKernels
{
    /// <summary>Sizes of one convolution problem.</summary>
    private readonly struct ConvShape
    {
        public readonly int N, C, H, W, Cout, Cg, Mg, Kh, Kw, Ho, Wo, K, P, Groups;
        public readonly bool Direct;

        /// <summary>A kernel larger than 1×1 on AVX-512: the forward, dW and (at stride 1) dx run on channels-last copies (ChannelsLastGemm).</summary>
        public readonly bool ChannelsLast;

        /// <summary>A kernel larger than 1×1: the implicit GEMM on the padded grids (ImplicitGemm) runs the forward and dW.</summary>
        public readonly bool Implicit;

        public ConvShape(int[] x, int[] w, Conv2dGeometry g)
        {
            N = x[0]; C = x[1]; H = x[2]; W = x[3];
            Cout = w[0]; Kh = w[2]; Kw = w[3];
            Groups = g.Groups;
            Cg = C / Groups; Mg = Cout / Groups;
            Ho = g.OutH(H, Kh); Wo = g.OutW(W, Kw);
            K = Cg * Kh * Kw; P = Ho * Wo;
            Direct = Kh == 1 && Kw == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;
            ChannelsLast = Kh * Kw > 1 && ChannelsLastGemm.Supported
                && ChannelsLastGemm.Fits(Math.Max(Cg, Mg), H + 2 * g.PadH + Kh * g.DilationH, W + 2 * g.PadW + Kw * g.DilationW)
                && (ChannelsLastOverride ?? (ImplicitOverride == null && ChannelsLastGemm.Pays(Cg, Mg, Kh * Kw, Ho * Wo, g.StrideH > 1 || g.StrideW > 1)));
            Implicit = !ChannelsLast && Kh * Kw > 1 && ImplicitGemm.Supported
                && (ImplicitOverride ?? ImplicitGemm.Pays(W, Kw, g.PadW, g.DilationW, g.StrideW, Mg));
        }

        public long Flops => 2L * N * Cout * K * P;
    }

    // How many batch slices run in parallel (1: images in sequence, GEMMs parallel inside).
    private static int BatchParts(in ConvShape s)
    {
        int t = CpuParallel.Threads;
        if (t <= 1 || s.N < 2 || s.Flops < (1L << 21)) return 1;
        if (s.N % t == 0 || s.N >= 4 * t) return Math.Min(t, s.N);
        return 1;
    }

    public static unsafe Tensor Forward(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry geometry)
    {
        var g = geometry;
        x = x.Contiguous(); weight = weight.Contiguous(); bias = bias?.Contiguous();
        var s = new ConvShape(x.Shape, weight.Shape, g);
        var y = Tensor.Empty(s.N, s.Cout, s.Ho, s.Wo);
        float[] xd = CpuBackend.Data(x), wd = CpuBackend.Data(weight), yd = CpuBackend.Data(y);
        float[]? bd = bias == null ? null : CpuBackend.Data(bias);
        int xo = x.Offset, wo = weight.Offset, bo = bias?.Offset ?? 0;
        int parts = BatchParts(s);
        // Images run in parallel with serial products: pack the weights once for all of them, not once per image.
        nint packed = parts > 1 && !s.Implicit && !s.ChannelsLast ? PackWeights(wd, wo, s, transposed: false) : 0;
        long packedStride = Sgemm.PackedALength(s.Mg, s.K);
        var grid = new ImplicitGemm.Plan(s.Cg, s.H, s.W, s.Kh, s.Kw, g.PadH, g.PadW, g.DilationH, g.DilationW, g.StrideH, g.StrideW);
        bool useImplicit = s.Implicit;
        float* implicitW = useImplicit ? ImplicitWeights(wd, wo, s, flipped: false) : null;
        int[]? offsets = useImplicit ? ImplicitGemm.Offsets(grid, s.Kh, s.Kw, g.DilationH, g.DilationW) : null;
        var cl = s.ChannelsLast ? InputPlan(s, g, 1) : null;
        float* clW = cl != null ? ChannelsLastWeights(wd, wo, s, flipped: false) : null;
        long clStride = ChannelsLastGemm.PackedLength(s.Mg, s.Cg, s.Kh * s.Kw);
        // Small images go several to one channels-last call (plans by image count).
        int clGroup = cl != null && parts > 1 ? ChannelsLastGroup(s, (s.N + parts - 1) / parts) : 1;
        var clPlans = clGroup > 1 ? ChannelsLastPlans(clGroup, i => InputPlan(s, g, i)) : null;

        void Image(int n, bool par)
        {
            fixed (float* px = xd, pw = wd, py = yd)
            {
                float* xn = px + xo + (long)n * s.C * s.H * s.W;
                float* yn = py + (long)n * s.Cout * s.P;
                for (int grp = 0; grp < s.Groups; grp++)
                {
                    float* xg = xn + (long)grp * s.Cg * s.H * s.W;
                    float* yg = yn + (long)grp * s.Mg * s.P;
                    float* wg = packed != 0 ? (float*)packed + grp * packedStride : pw + wo + (long)grp * s.Mg * s.K;
                    if (s.Direct) Product(wg, packed != 0, s.Mg, s.P, s.K, xg, s.P, yg, s.P, par);
                    else if (cl != null)
                    {
                        float* xp = PinnedThreadBuffer.Get(cl.PaddedLength);
                        ChannelsLastGemm.ToChannelsLast(xg, 0, cl, xp);
                        ChannelsLastGemm.Forward(cl, s.Mg, clW + grp * clStride, xp, yg, s.P, 0, par);
                    }
                    else if (useImplicit)
                    {
                        float* xp = PinnedThreadBuffer.Get(grid.PaddedLength);
                        ImplicitGemm.Pad(xg, grid, xp);
                        fixed (int* po = offsets)
                            ImplicitGemm.Run(grid, s.Mg, implicitW + grp * ImplicitGemm.PackedLength(s.Mg, s.K), xp, po, yg, s.P, par);
                    }
                    else if (par)
                    {
                        float* cols = PinnedThreadBuffer.Get((long)s.K * s.P);
                        Im2ColPar(xg, s, g, cols, par);
                        Product(wg, packed != 0, s.Mg, s.P, s.K, cols, s.P, yg, s.P, par);
                    }
                    else
                    {
                        // One thread per image: unfold a chunk of output columns at a time, so the columns stay in
                        // L2 between the unfolding and the product instead of streaming K·P floats through memory.
                        int chunk = ChunkWidth(s);
                        float* cols = PinnedThreadBuffer.Get((long)s.K * chunk);
                        for (int p0 = 0; p0 < s.P; p0 += chunk)
                        {
                            int w = Math.Min(chunk, s.P - p0);
                            Im2Col(xg, 0, s.Cg, s, g, cols, p0, p0 + w);
                            Product(wg, packed != 0, s.Mg, w, s.K, cols, w, yg + p0, s.P, false);
                        }
                    }
                }
                AddBias(yn);
            }
        }

        // Small images (layer3/4: 14² and 7² outputs): several images per product, so its N is wide enough for the
        // register tiles (196 columns fill 6.1 tiles of 32, 49 only 1.5) and each packed weight block serves more columns.
        int group = parts > 1 && !useImplicit && cl == null ? ImageGroup(s, (s.N + parts - 1) / parts) : 1;

        void Images(int n, int count)
        {
            int ld = count * s.P;
            float* cols = PinnedThreadBuffer.Get((long)s.K * ld);
            float* c = PinnedThreadBuffer.Get((long)s.Mg * ld, ScratchSlot.Secondary);
            fixed (float* px = xd, py = yd)
            {
                for (int grp = 0; grp < s.Groups; grp++)
                {
                    for (int i = 0; i < count; i++)
                        Im2Col(px + xo + ((long)(n + i) * s.C + (long)grp * s.Cg) * s.H * s.W, 0, s.Cg, s, g, cols + (long)i * s.P, 0, s.P, ld);
                    Sgemm.MultiplyPacked(s.Mg, ld, s.K, (float*)packed + grp * packedStride, false, cols, ld, 0f, c, ld);
                    for (int i = 0; i < count; i++)
                        for (int co = 0; co < s.Mg; co++)
                        {
                            float* dst = py + ((long)(n + i) * s.Cout + grp * s.Mg + co) * s.P;
                            new ReadOnlySpan<float>(c + (long)co * ld + (long)i * s.P, s.P).CopyTo(new Span<float>(dst, s.P));
                        }
                }
                for (int i = 0; i < count; i++) AddBias(py + (long)(n + i) * s.Cout * s.P);
            }
        }

        void ChannelsLastImages(int n, int count)
        {
            var plan = clPlans![count];
            fixed (float* px = xd, py = yd)
            {
                for (int grp = 0; grp < s.Groups; grp++)
                {
                    float* xp = PinnedThreadBuffer.Get(plan.PaddedLength);
                    ChannelsLastGemm.ToChannelsLast(px + xo + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W, (long)s.C * s.H * s.W, plan, xp);
                    ChannelsLastGemm.Forward(plan, s.Mg, clW + grp * clStride, xp, py + ((long)n * s.Cout + (long)grp * s.Mg) * s.P, s.P, (long)s.Cout * s.P, false);
                }
                for (int i = 0; i < count; i++) AddBias(py + (long)(n + i) * s.Cout * s.P);
            }
        }

        // y[n] += bias, one output channel (row of P) at a time.
        void AddBias(float* yn)
        {
            if (bd == null) return;
            for (int co = 0; co < s.Cout; co++)
            {
                var row = new Span<float>(yn + (long)co * s.P, s.P);
                TensorPrimitives.Add(row, bd[bo + co], row);
            }
        }

        if (parts > 1)
            CpuParallel.For(parts, p =>
            {
                int n0 = (int)((long)s.N * p / parts), n1 = (int)((long)s.N * (p + 1) / parts);
                if (clGroup > 1)
                    for (int n = n0; n < n1; n += clGroup) ChannelsLastImages(n, Math.Min(clGroup, n1 - n));
                else if (group > 1)
                    for (int n = n0; n < n1; n += group) Images(n, Math.Min(group, n1 - n));
                else
                    for (int n = n0; n < n1; n++) Image(n, false);
            });
        else
            for (int n = 0; n < s.N; n++) Image(n, true);
        return y;
    }

    /// <summary>Output columns a product should have at least; smaller images are grouped (see Forward).</summary>
    internal static int MinProductColumns = 512;

    // Images per channels-last call: the fewest that divide a part's images and give MinProductColumns positions (else
    // all of the part's images), with their channels-last copies within 8 MiB.
    private static int ChannelsLastGroup(in ConvShape s, int imagesPerPart)
    {
        long imageBytes = 4L * (s.H + s.Kh) * (s.W + s.Kw) * ((s.Cg + 31) / 32 * 32);
        int most = (int)Math.Clamp((8L << 20) / Math.Max(1, imageBytes), 1, imagesPerPart);
        for (int d = 1; d <= most; d++)
            if (imagesPerPart % d == 0 && d * s.P >= MinProductColumns) return d;
        return most;
    }

    // Channels-last plans for 1..count images (index = image count), made by make(images).
    private static ChannelsLastGemm.Plan[] ChannelsLastPlans(int count, Func<int, ChannelsLastGemm.Plan> make)
    {
        var plans = new ChannelsLastGemm.Plan[count + 1];
        for (int i = 1; i <= count; i++) plans[i] = make(i);
        return plans;
    }

    // The channels-last plan of the convolution's input for that many images.
    private static ChannelsLastGemm.Plan InputPlan(in ConvShape s, Conv2dGeometry g, int images) =>
        new(s.Cg, s.H, s.W, s.Kh, s.Kw, g.PadH, g.PadW, g.DilationH, g.DilationW, g.StrideH, g.StrideW, images);

    // Images per product: enough for MinProductColumns columns, at most the images of one part. A 1×1 convolution's
    // grouping is a pure copy (no unfolding to share), which only pays below 10 × 10 outputs: at 14² the per-image
    // products measured 5–15 % faster in all three products (8 images, 2 cores, Zen 5), at 7² it depends on the shape.
    private static int ImageGroup(in ConvShape s, int imagesPerPart) =>
        s.P >= MinProductColumns || (s.Direct && s.P >= 100) ? 1 : Math.Clamp((MinProductColumns + s.P - 1) / s.P, 1, imagesPerPart);

    // C (m×n, ldc) = W·B with W (m×k) either the raw row-major weights or packed by PackWeights.
    private static unsafe void Product(float* w, bool packed, int m, int n, int k, float* b, int ldb, float* c, int ldc, bool par)
    {
        if (packed) Sgemm.MultiplyPacked(m, n, k, w, false, b, ldb, 0f, c, ldc);
        else Sgemm.Multiply(false, false, m, n, k, 1f, w, k, b, ldb, 0f, c, ldc, par);
    }

    // C (m×n, ldc) = Wᵀ·B with m = K, k = Mg: W is the raw Mg×K weights (read transposed) or Wᵀ packed by PackWeights.
    private static unsafe void ProductT(float* w, bool packed, int m, int n, int k, float* b, int ldb, float* c, int ldc, bool par)
    {
        if (packed) Sgemm.MultiplyPacked(m, n, k, w, false, b, ldb, 0f, c, ldc);
        else Sgemm.Multiply(true, false, m, n, k, 1f, w, m, b, ldb, 0f, c, ldc, par);
    }

    /// <summary>Floats of unfolded columns a chunk may hold (~256 KiB: a quarter of a typical L2); SIFA_CONV_CHUNK=n for tuning.</summary>
    internal static int ChunkFloats = int.TryParse(Environment.GetEnvironmentVariable("SIFA_CONV_CHUNK"), out int f) && f > 0 ? f : 64 * 1024;

    /// <summary>
    /// Fewest output columns in a chunk. dW = dY·colsᵀ sums over the chunks, so every chunk reads and writes all of dW
    /// (Mg×K); a chunk this wide keeps that below a tenth of the chunk's multiply-adds.
    /// </summary>
    internal const int MinChunkColumns = 256;

    // Output columns per chunk: K·chunk ≤ ChunkFloats but at least MinChunkColumns, a multiple of the widest register
    // tile (32), and balanced so the last chunk is not a runt. All of P when that is no more than twice the chunk.
    private static int ChunkWidth(in ConvShape s)
    {
        int max = Math.Max(MinChunkColumns, ChunkFloats / Math.Max(1, s.K) / 32 * 32);
        if (2 * max >= s.P) return s.P;
        int chunks = (s.P + max - 1) / max;
        return Math.Min(max, ((s.P + chunks - 1) / chunks + 31) / 32 * 32);
    }

    /// <summary>Comparison hook: whether implicit convolutions also take the implicit weight gradient (SIFA_CONV_IMPLICIT_DW=0: no).</summary>
    internal static bool ImplicitWeightGradient = Environment.GetEnvironmentVariable("SIFA_CONV_IMPLICIT_DW") != "0";

    /// <summary>
    /// Whether convolutions larger than 1×1 take the channels-last path on AVX-512: null (default) where it pays
    /// (<see cref="ChannelsLastGemm.Pays"/>, unless <see cref="ImplicitOverride"/> forces a choice), true wherever it
    /// applies (tests), false never (SIFA_CONV_CL=0/1, for comparisons).
    /// </summary>
    internal static bool? ChannelsLastOverride = Environment.GetEnvironmentVariable("SIFA_CONV_CL") switch { "0" => false, "1" => true, _ => null };

    /// <summary>
    /// Whether convolutions take the padded-grid implicit GEMM: null (default) where it pays (<see cref="ImplicitGemm.Pays"/>),
    /// true wherever it applies (tests), false never (SIFA_CONV_IMPLICIT=0/1, for comparisons). Forcing it also keeps
    /// the channels-last path off unless that is forced too.
    /// </summary>
    internal static bool? ImplicitOverride = Environment.GetEnvironmentVariable("SIFA_CONV_IMPLICIT") switch { "0" => false, "1" => true, _ => null };

    // Every group's weights packed for ImplicitGemm, back to back in the calling thread's PackedWeights scratch (read by
    // every core while the operation runs): W_g (Mg × K) for the forward, or for the input gradient W'_g (Cg × Mg·kh·kw)
    // with W'[c][co, ki, kj] = W[co, c, kh−1−ki, kw−1−kj] (flipped and transposed).
    // Every group's weights packed for ChannelsLastGemm, back to back in the calling thread's PackedWeights scratch.
    private static unsafe float* ChannelsLastWeights(float[] w, int offset, in ConvShape s, bool flipped)
    {
        int taps = s.Kh * s.Kw;
        long stride = flipped ? ChannelsLastGemm.PackedLength(s.Cg, s.Mg, taps) : ChannelsLastGemm.PackedLength(s.Mg, s.Cg, taps);
        float* packed = PinnedThreadBuffer.Get(stride * s.Groups, ScratchSlot.PackedWeights);
        fixed (float* pw = w)
            for (int grp = 0; grp < s.Groups; grp++)
                ChannelsLastGemm.PackWeights(pw + offset + (long)grp * s.Mg * s.K, s.Mg, s.Cg, taps, flipped, packed + grp * stride);
        return packed;
    }

    private static unsafe float* ImplicitWeights(float[] w, int offset, in ConvShape s, bool flipped)
    {
        int m = flipped ? s.Cg : s.Mg, k = flipped ? s.Mg * s.Kh * s.Kw : s.K, taps = s.Kh * s.Kw;
        long stride = ImplicitGemm.PackedLength(m, k);
        float* packed = PinnedThreadBuffer.Get(stride * s.Groups, ScratchSlot.PackedWeights);
        // The flipped copy is consumed at once, before any kernel of this operation uses the primary scratch.
        float* pt = flipped ? PinnedThreadBuffer.Get((long)m * k) : null;
        fixed (float* pw = w)
            for (int grp = 0; grp < s.Groups; grp++)
            {
                float* wg = pw + offset + (long)grp * s.Mg * s.K;
                if (flipped)
                {
                    for (int c = 0; c < s.Cg; c++)
                        for (int co = 0; co < s.Mg; co++)
                            for (int t = 0; t < taps; t++)
                                pt[((long)c * s.Mg + co) * taps + t] = wg[((long)co * s.Cg + c) * taps + taps - 1 - t];
                    wg = pt;
                }
                ImplicitGemm.PackWeights(wg, k, m, k, packed + grp * stride);
            }
        return packed;
    }

    // Every group's weights packed once as the A operand of the per-image products, W_g (Mg×K) for the forward or
    // W_gᵀ (K×Mg) for the input gradient, back to back in the calling thread's shared pack buffer (no image product
    // uses it: they are serial). Read-only while the images run in parallel.
    private static unsafe nint PackWeights(float[] w, int offset, in ConvShape s, bool transposed)
    {
        int m = transposed ? s.K : s.Mg, k = transposed ? s.Mg : s.K;
        long stride = Sgemm.PackedALength(m, k);
        float* dst = Sgemm.SharedPackBuffer(stride * s.Groups);
        fixed (float* pw = w)
            for (int grp = 0; grp < s.Groups; grp++)
                Sgemm.PackA(transposed, m, k, pw + offset + (long)grp * s.Mg * s.K, s.K, dst + grp * stride);
        return (nint)dst;
    }
}
