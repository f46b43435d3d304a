using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sifa.Tensors.Cpu;

// 2-D convolution on NCHW: per image (and group) a GEMM W(Cout/g × K) · cols(K × Ho·Wo), where cols is the im2col
// unfolding of the image (K = Cin/g·kh·kw), or the image itself for 1×1 stride-1 unpadded convolutions.
// Backward: dW += dY·colsᵀ (per-thread accumulators), dcols = Wᵀ·dY then col2im into dx; dbias = Σ dY.
// The batch is split over the cores (each image a serial GEMM); when the batch is too small for that, images run
// one after another and the GEMM and im2col use the cores. Shapes are checked by CpuBackend (Conv2dGeometry) first.
internal static class Conv2dKernels
{
    /// <summary>Sizes of one convolution problem.</summary>
    private readonly struct ConvShape
    {
        public readonly int N, C, H, W, Cout, Cg, Mg, Kh, Kw, Ho, Wo, K, P, Groups;
        public readonly bool Direct;

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
            Implicit = Kh * Kw > 1 && ImplicitGemm.Supported
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
        nint packed = parts > 1 ? PackWeights(wd, wo, s, transposed: false) : 0;
        long packedStride = Sgemm.PackedALength(s.Mg, s.K);
        var grid = new ImplicitGemm.Plan(s.Cg, s.H, s.W, s.Kh, s.Kw, g.PadH, g.PadW, g.DilationH, g.DilationW, g.StrideH, g.StrideW);
        bool useImplicit = s.Implicit;
        float[]? implicitW = useImplicit ? ImplicitWeights(wd, wo, s, flipped: false) : null;
        int[]? offsets = useImplicit ? ImplicitGemm.Offsets(grid, s.Kh, s.Kw, g.DilationH, g.DilationW) : null;

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
                    else if (implicitW != null)
                    {
                        float* xp = PinnedThreadBuffer.Get(grid.PaddedLength);
                        ImplicitGemm.Pad(xg, grid, xp);
                        fixed (float* pa = implicitW)
                        fixed (int* po = offsets)
                            ImplicitGemm.Run(grid, s.Mg, pa + grp * ImplicitGemm.PackedLength(s.Mg, s.K), xp, po, yg, s.P, par);
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
                if (bd != null)
                    for (int co = 0; co < s.Cout; co++)
                    {
                        var row = new Span<float>(yn + (long)co * s.P, s.P);
                        TensorPrimitives.Add(row, bd[bo + co], row);
                    }
            }
        }

        // Small images (layer3/4: 14² and 7² outputs): several images per product, so its N is wide enough for the
        // register tiles (196 columns fill 6.1 tiles of 32, 49 only 1.5) and each packed weight block serves more columns.
        int group = parts > 1 && !useImplicit ? ImageGroup(s, (s.N + parts - 1) / parts) : 1;

        void Images(int n, int count)
        {
            int ld = count * s.P;
            float* cols = PinnedThreadBuffer.Get((long)s.K * ld);
            float* c = PinnedThreadBuffer.GetSecond((long)s.Mg * ld);
            fixed (float* px = xd, py = yd)
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
                            if (bd != null) TensorPrimitives.Add(new Span<float>(dst, s.P), bd[bo + grp * s.Mg + co], new Span<float>(dst, s.P));
                        }
                }
        }

        if (parts > 1)
            CpuParallel.For(parts, p =>
            {
                int n0 = (int)((long)s.N * p / parts), n1 = (int)((long)s.N * (p + 1) / parts);
                if (group > 1)
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

    // Images per product: enough for MinProductColumns columns, at most the images of one part.
    private static int ImageGroup(in ConvShape s, int imagesPerPart) =>
        s.P >= MinProductColumns ? 1 : Math.Clamp((MinProductColumns + s.P - 1) / s.P, 1, imagesPerPart);

    public static unsafe (Tensor? Input, Tensor? Weight, Tensor? Bias) Backward(Tensor dy, Tensor x, Tensor weight, Conv2dGeometry geometry,
        bool needInput, bool needWeight, bool needBias)
    {
        var g = geometry;
        var s = new ConvShape(x.Shape, weight.Shape, g);
        if (!needInput && !needWeight && !needBias) return (null, null, null);
        dy = dy.Contiguous(); x = x.Contiguous(); weight = weight.Contiguous();
        var dx = needInput ? Tensor.Empty(x.Shape) : null;
        var dw = needWeight ? Tensor.Empty(weight.Shape) : null;
        var db = needBias ? Tensor.Empty(s.Cout) : null;
        float[] xd = CpuBackend.Data(x), wd = CpuBackend.Data(weight), dyd = CpuBackend.Data(dy);
        float[]? dxd = dx == null ? null : CpuBackend.Data(dx);
        int xo = x.Offset, wo = weight.Offset, dyo = dy.Offset;
        int parts = BatchParts(s);
        int wSize = weight.Numel;

        // Part 0 accumulates straight into dw; the others into pooled buffers summed at the end.
        var wAcc = new float[]?[parts];
        var bAcc = new double[]?[parts];
        if (needWeight)
        {
            wAcc[0] = CpuBackend.Data(dw!);
            for (int p = 1; p < parts; p++) wAcc[p] = ArrayPool<float>.Shared.Rent(wSize);
        }
        if (needBias) for (int p = 0; p < parts; p++) bAcc[p] = new double[s.Cout];
        // The input gradient of a stride-1 convolution is a stride-1 convolution of dY padded by (k−1)·d − pad.
        int padH2 = (s.Kh - 1) * g.DilationH - g.PadH, padW2 = (s.Kw - 1) * g.DilationW - g.PadW;
        bool implicitDx = needInput && s.Implicit && g.StrideH == 1 && g.StrideW == 1 && padH2 >= 0 && padW2 >= 0;
        var dxGrid = new ImplicitGemm.Plan(s.Mg, s.Ho, s.Wo, s.Kh, s.Kw, Math.Max(0, padH2), Math.Max(0, padW2), g.DilationH, g.DilationW);
        float[]? flippedW = implicitDx ? ImplicitWeights(wd, wo, s, flipped: true) : null;
        int[]? dxOffsets = implicitDx ? ImplicitGemm.Offsets(dxGrid, s.Kh, s.Kw, g.DilationH, g.DilationW) : null;
        nint packedT = parts > 1 && needInput && !implicitDx ? PackWeights(wd, wo, s, transposed: true) : 0;
        // dW on the padded grid too (ImplicitGemm.WeightGradient): per part, dWᵀ of every group (K × ldt) summed over
        // its images and added into dW at the end.
        // Each kernel call reduces over the P output positions, so a short P (small grids) leaves the call overhead
        // and the first touch of six streams exposed; unfolding wins there unless the output is narrow (measured).
        bool implicitDw = needWeight && s.Implicit && ImplicitWeightGradient && (s.P >= 512 || s.Mg <= 32 || ImplicitOverride == true);
        var grid = new ImplicitGemm.Plan(s.Cg, s.H, s.W, s.Kh, s.Kw, g.PadH, g.PadW, g.DilationH, g.DilationW, g.StrideH, g.StrideW);
        int[]? offsets = implicitDw ? ImplicitGemm.Offsets(grid, s.Kh, s.Kw, g.DilationH, g.DilationW) : null;
        int ldt = (s.Mg + 31) / 32 * 32;
        long packedStride = Sgemm.PackedALength(s.K, s.Mg);

        // dx of one image's group: the implicit GEMM of the flipped, transposed weights over dY's padded grid.
        void ImplicitDx(float* dyg, float* dxg, int grp, bool par)
        {
            float* dyp = PinnedThreadBuffer.Get(dxGrid.PaddedLength);
            ImplicitGemm.Pad(dyg, dxGrid, dyp);
            fixed (float* pa = flippedW)
            fixed (int* po = dxOffsets)
                ImplicitGemm.Run(dxGrid, s.Cg, pa + grp * ImplicitGemm.PackedLength(s.Cg, s.Mg * s.Kh * s.Kw), dyp, po, dxg, (long)s.H * s.W, par);
        }

        // dx of one image's group by dcols = Wᵀ·dY folded back: all columns at once on all cores, else in chunks.
        void UnfoldedDx(float* dyg, float* dxg, float* wt, bool par)
        {
            int chunk = par ? s.P : ChunkWidth(s);
            float* cols = PinnedThreadBuffer.Get((long)s.K * chunk);
            for (int p0 = 0; p0 < s.P; p0 += chunk)
            {
                int w = Math.Min(chunk, s.P - p0);
                ProductT(wt, packedT != 0, s.K, w, s.Mg, dyg + p0, s.P, cols, w, par);
                if (par) Col2ImPar(cols, s, g, dxg, par);
                else Col2Im(cols, 0, s.Cg, s, g, dxg, p0, p0 + w, clear: p0 == 0);
            }
        }

        // Images [n, n + count) of one group in one product per gradient: their unfolded columns side by side
        // (K × count·P) and dY gathered to Mg × count·P; dW sums over all their positions at once and dcols is folded
        // back image by image.
        int group = parts > 1 && !implicitDw && !implicitDx ? ImageGroup(s, (s.N + parts - 1) / parts) : 1;
        void ImagesBackward(int n, int count, int grp, float* px, float* pdy, float* pdx, float* pwa, float* pw)
        {
            int ld = count * s.P;
            float* cols = PinnedThreadBuffer.Get((long)s.K * ld);
            float* dyb = PinnedThreadBuffer.GetSecond((long)s.Mg * ld);
            for (int i = 0; i < count; i++)
                for (int co = 0; co < s.Mg; co++)
                    new ReadOnlySpan<float>(pdy + dyo + ((long)(n + i) * s.Cout + grp * s.Mg + co) * s.P, s.P)
                        .CopyTo(new Span<float>(dyb + (long)co * ld + (long)i * s.P, s.P));
            if (needWeight)
            {
                for (int i = 0; i < count; i++)
                    Im2Col(px + xo + ((long)(n + i) * s.C + (long)grp * s.Cg) * s.H * s.W, 0, s.Cg, s, g, cols + (long)i * s.P, 0, s.P, ld);
                Sgemm.Multiply(false, true, s.Mg, s.K, ld, 1f, dyb, ld, cols, ld, 1f, pwa + (long)grp * s.Mg * s.K, s.K, false);
            }
            if (needInput)
            {
                float* wt = packedT != 0 ? (float*)packedT + grp * packedStride : pw + wo + (long)grp * s.Mg * s.K;
                ProductT(wt, packedT != 0, s.K, ld, s.Mg, dyb, ld, cols, ld, false);
                for (int i = 0; i < count; i++)
                    Col2Im(cols + (long)i * s.P, 0, s.Cg, s, g, pdx + ((long)(n + i) * s.C + (long)grp * s.Cg) * s.H * s.W, 0, s.P, clear: true, ld);
            }
        }

        void Part(int p, bool par)
        {
            int n0 = (int)((long)s.N * p / parts), n1 = (int)((long)s.N * (p + 1) / parts);
            var wa = wAcc[p];
            var ba = bAcc[p];
            if (wa != null) wa.AsSpan(0, wSize).Clear();
            float[]? dwt = implicitDw ? GC.AllocateArray<float>(checked(s.Groups * s.K * ldt + 16), pinned: true) : null;
            fixed (float* px = xd, pw = wd, pdy = dyd, pdx = dxd, pwa = wa, pdwt0 = dwt)
            {
                float* pdwt = (float*)(((nint)pdwt0 + 63) & ~(nint)63);
                for (int n = n0; n < n1; n++)
                {
                    float* dyn = pdy + dyo + (long)n * s.Cout * s.P;
                    if (group > 1)
                    {
                        // Several small images per product, as in the forward; the bias sums run per image below.
                        int count = Math.Min(group, n1 - n);
                        for (int grp = 0; grp < s.Groups; grp++)
                            ImagesBackward(n, count, grp, px, pdy, pdx, pwa, pw);
                        for (int i = 0; i < count && ba != null; i++)
                            for (int co = 0; co < s.Cout; co++)
                                ba[co] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyn + ((long)i * s.Cout + co) * s.P, s.P));
                        n += count - 1;
                        continue;
                    }
                    for (int grp = 0; grp < s.Groups; grp++)
                    {
                        float* dyg = dyn + (long)grp * s.Mg * s.P;
                        float* xg = px + xo + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W;
                        float* dxg = needInput ? pdx + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W : null;
                        float* dwg = needWeight ? pwa + (long)grp * s.Mg * s.K : null;
                        // Wᵀ for dcols = Wᵀ·dY (or dx = Wᵀ·dY for a direct convolution, where K = Cg).
                        float* wt = packedT != 0 ? (float*)packedT + grp * packedStride : pw + wo + (long)grp * s.Mg * s.K;
                        if (s.Direct)
                        {
                            if (needWeight) Sgemm.Multiply(false, true, s.Mg, s.K, s.P, 1f, dyg, s.P, xg, s.P, 1f, dwg, s.K, par);
                            if (needInput) ProductT(wt, packedT != 0, s.K, s.P, s.Mg, dyg, s.P, dxg, s.P, par);
                        }
                        else if (implicitDw)
                        {
                            // Neither gradient unfolds: dW from the padded x and dYᵀ, dx from the padded dY.
                            float* xp = PinnedThreadBuffer.Get(grid.PaddedLength);
                            ImplicitGemm.Pad(xg, grid, xp);
                            float* dyt = PinnedThreadBuffer.GetSecond((long)s.P * ldt + 16);
                            dyt = (float*)(((nint)dyt + 63) & ~(nint)63);
                            ImplicitGemm.Transpose(dyg, s.Mg, s.P, s.P, dyt, ldt);
                            fixed (int* po = offsets)
                                ImplicitGemm.WeightGradient(grid, xp, po, dyt, ldt, pdwt + (long)grp * s.K * ldt, par);
                            if (implicitDx) ImplicitDx(dyg, dxg, grp, par);
                            else if (needInput) UnfoldedDx(dyg, dxg, wt, par);
                        }
                        else if (par || !(needWeight || needInput))
                        {
                            float* cols = needWeight || (needInput && !implicitDx) ? PinnedThreadBuffer.Get((long)s.K * s.P) : null;
                            if (needWeight)
                            {
                                Im2ColPar(xg, s, g, cols, par);
                                Sgemm.Multiply(false, true, s.Mg, s.K, s.P, 1f, dyg, s.P, cols, s.P, 1f, dwg, s.K, par);
                            }
                            if (implicitDx) ImplicitDx(dyg, dxg, grp, par);
                            else if (needInput)
                            {
                                ProductT(wt, packedT != 0, s.K, s.P, s.Mg, dyg, s.P, cols, s.P, par);
                                Col2ImPar(cols, s, g, dxg, par);
                            }
                        }
                        else
                        {
                            // One thread per image: chunks of output columns, as in the forward. dW sums the chunks'
                            // products; each chunk's dcols is folded into dx (cleared once) before the next.
                            int chunk = ChunkWidth(s);
                            float* cols = PinnedThreadBuffer.Get((long)s.K * chunk);
                            for (int p0 = 0; p0 < s.P; p0 += chunk)
                            {
                                int w = Math.Min(chunk, s.P - p0);
                                if (needWeight)
                                {
                                    Im2Col(xg, 0, s.Cg, s, g, cols, p0, p0 + w);
                                    Sgemm.Multiply(false, true, s.Mg, s.K, w, 1f, dyg + p0, s.P, cols, w, 1f, dwg, s.K, false);
                                }
                                if (needInput && !implicitDx)
                                {
                                    ProductT(wt, packedT != 0, s.K, w, s.Mg, dyg + p0, s.P, cols, w, false);
                                    Col2Im(cols, 0, s.Cg, s, g, dxg, p0, p0 + w, clear: p0 == 0);
                                }
                            }
                            if (implicitDx) ImplicitDx(dyg, dxg, grp, false);
                        }
                    }
                    if (ba != null)
                        for (int co = 0; co < s.Cout; co++)
                            ba[co] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyn + (long)co * s.P, s.P));
                }
                if (implicitDw)
                    for (int grp = 0; grp < s.Groups; grp++)
                    {
                        float* t = pdwt + (long)grp * s.K * ldt, d = pwa + (long)grp * s.Mg * s.K;
                        for (int co = 0; co < s.Mg; co++)
                            for (int k = 0; k < s.K; k++) d[(long)co * s.K + k] += t[(long)k * ldt + co];
                    }
            }
        }

        if (parts > 1) CpuParallel.For(parts, p => Part(p, false));
        else Part(0, true);

        if (needWeight)
        {
            var w0 = wAcc[0]!.AsSpan(0, wSize);
            for (int p = 1; p < parts; p++)
            {
                TensorPrimitives.Add(w0, wAcc[p]!.AsSpan(0, wSize), w0);
                ArrayPool<float>.Shared.Return(wAcc[p]!);
            }
        }
        if (needBias)
        {
            var bs = CpuBackend.Data(db!);
            for (int co = 0; co < s.Cout; co++)
            {
                double t = 0;
                for (int p = 0; p < parts; p++) t += bAcc[p]![co];
                bs[co] = (float)t;
            }
        }
        return (dx, dw, db);
    }

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

    /// <summary>Floats of unfolded columns a chunk may hold (~256 KiB: a quarter of a typical L2).</summary>
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

    /// <summary>Comparison hook: whether implicit convolutions also take the implicit weight gradient.</summary>
    internal static bool ImplicitWeightGradient = Environment.GetEnvironmentVariable("SIFA_CONV_IMPLICIT_DW") != "0";

    /// <summary>
    /// Whether stride-1 convolutions take the implicit GEMM: null (default) where it pays (<see cref="ImplicitGemm.Pays"/>),
    /// true wherever it applies (tests), false never (SIFA_CONV_IMPLICIT=0, for comparisons).
    /// </summary>
    internal static bool? ImplicitOverride = Environment.GetEnvironmentVariable("SIFA_CONV_IMPLICIT") switch { "0" => false, "1" => true, _ => null };

    // Every group's weights packed for ImplicitGemm, back to back: W_g (Mg × K) for the forward, or for the input
    // gradient W'_g (Cg × Mg·kh·kw) with W'[c][co, ki, kj] = W[co, c, kh−1−ki, kw−1−kj] (flipped and transposed).
    private static unsafe float[] ImplicitWeights(float[] w, int offset, in ConvShape s, bool flipped)
    {
        int m = flipped ? s.Cg : s.Mg, k = flipped ? s.Mg * s.Kh * s.Kw : s.K, taps = s.Kh * s.Kw;
        long stride = ImplicitGemm.PackedLength(m, k);
        var packed = GC.AllocateUninitializedArray<float>(checked((int)(stride * s.Groups)), pinned: true);
        var wt = flipped ? new float[(long)m * k] : null;
        fixed (float* pw = w, pp = packed, pt = wt)
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
                ImplicitGemm.PackWeights(wg, k, m, k, pp + grp * stride);
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

    // im2col of one group's channels, split over the cores by channel when asked and worthwhile.
    private static unsafe void Im2ColPar(float* x, in ConvShape s, in Conv2dGeometry g, float* cols, bool par)
    {
        if (!par || (long)s.K * s.P < 1L << 16 || s.Cg < 2) { Im2Col(x, 0, s.Cg, s, g, cols, 0, s.P); return; }
        nint xp = (nint)x, cp = (nint)cols;
        var ss = s; var gg = g;
        CpuParallel.ForChunks(s.Cg, (c0, c1) => Im2Col((float*)xp, c0, c1, ss, gg, (float*)cp, 0, ss.P));
    }

    private static unsafe void Col2ImPar(float* cols, in ConvShape s, in Conv2dGeometry g, float* dx, bool par)
    {
        if (!par || (long)s.K * s.P < 1L << 16 || s.Cg < 2) { Col2Im(cols, 0, s.Cg, s, g, dx, 0, s.P, true); return; }
        nint xp = (nint)dx, cp = (nint)cols;
        var ss = s; var gg = g;
        CpuParallel.ForChunks(s.Cg, (c0, c1) => Col2Im((float*)cp, c0, c1, ss, gg, (float*)xp, 0, ss.P, true));
    }

    // The output columns [lo, hi) whose input column ow·stride + shift lies inside [0, size).
    private static void ValidRange(int shift, int stride, int size, int outSize, out int lo, out int hi)
    {
        lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
        hi = size - shift <= 0 ? 0 : (size - shift + stride - 1) / stride;
        hi = Math.Min(hi, outSize);
        lo = Math.Min(lo, hi);
    }

    /// <summary>
    /// Unfolds channels [c0, c1) of one image (x points at channel 0) into rows (c, ki, kj) × output positions
    /// [p0, p1) of cols (row length ld, default p1 − p0): the whole image, one chunk of its columns, or one image's
    /// block of a several-image product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Im2Col(float* x, int c0, int c1, in ConvShape s, in Conv2dGeometry g, float* cols, int p0, int p1, int ld = 0)
    {
        int H = s.H, W = s.W, Wo = s.Wo, sh = g.StrideH, sw = g.StrideW;
        if (ld == 0) ld = p1 - p0;
        int oh0 = p0 / Wo, oh1 = (p1 - 1) / Wo;
        for (int c = c0; c < c1; c++)
        {
            float* xc = x + (long)c * H * W;
            for (int ki = 0; ki < s.Kh; ki++)
            {
                int dh = ki * g.DilationH - g.PadH;
                for (int kj = 0; kj < s.Kw; kj++)
                {
                    int dw = kj * g.DilationW - g.PadW;
                    // Indexed by the output position p (row[p] for p in [p0, p1)).
                    float* row = cols + ((long)(c * s.Kh + ki) * s.Kw + kj) * ld - p0;
                    ValidRange(dw, sw, W, Wo, out int lo, out int hi);
                    for (int oh = oh0; oh <= oh1; oh++)
                    {
                        float* r = row + (long)oh * Wo;
                        int a = Math.Max(0, p0 - oh * Wo), b = Math.Min(Wo, p1 - oh * Wo);
                        int ih = oh * sh + dh;
                        int l = Math.Max(a, lo), h = Math.Min(b, hi);
                        if ((uint)ih >= (uint)H || l >= h) { Fill0(r + a, b - a); continue; }
                        if (l > a) Fill0(r + a, l - a);
                        if (h < b) Fill0(r + h, b - h);
                        float* src = xc + (long)ih * W + dw;
                        if (sw == 1) Copy(src + l, r + l, h - l);
                        else if (sw == 2) for (int ow = l; ow < h; ow++) r[ow] = src[2 * ow];
                        else for (int ow = l; ow < h; ow++) r[ow] = src[(long)ow * sw];
                    }
                }
            }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: adds the column entries of positions [p0, p1) into channels [c0, c1) of dx
    /// (dx points at channel 0), after clearing those channels first when <paramref name="clear"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Col2Im(float* cols, int c0, int c1, in ConvShape s, in Conv2dGeometry g, float* dx, int p0, int p1, bool clear, int ld = 0)
    {
        int H = s.H, W = s.W, Wo = s.Wo, sh = g.StrideH, sw = g.StrideW;
        if (ld == 0) ld = p1 - p0;
        int oh0 = p0 / Wo, oh1 = (p1 - 1) / Wo;
        for (int c = c0; c < c1; c++)
        {
            float* xc = dx + (long)c * H * W;
            if (clear) new Span<float>(xc, H * W).Clear();
            for (int ki = 0; ki < s.Kh; ki++)
            {
                int dh = ki * g.DilationH - g.PadH;
                for (int kj = 0; kj < s.Kw; kj++)
                {
                    int dw = kj * g.DilationW - g.PadW;
                    float* row = cols + ((long)(c * s.Kh + ki) * s.Kw + kj) * ld - p0;
                    ValidRange(dw, sw, W, Wo, out int lo, out int hi);
                    for (int oh = oh0; oh <= oh1; oh++)
                    {
                        int ih = oh * sh + dh;
                        int l = Math.Max(Math.Max(0, p0 - oh * Wo), lo), h = Math.Min(Math.Min(Wo, p1 - oh * Wo), hi);
                        if ((uint)ih >= (uint)H || l >= h) continue;
                        float* r = row + (long)oh * Wo;
                        float* dst = xc + (long)ih * W + dw;
                        if (sw == 1) AddTo(r + l, dst + l, h - l);
                        else for (int ow = l; ow < h; ow++) dst[(long)ow * sw] += r[ow];
                    }
                }
            }
        }
    }
    // Short runs (an output row's part of a chunk, often 10–60 floats) dominate the unfolding: plain vector loops
    // without the span and dispatch overhead of the library calls.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Copy(float* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Fill0(float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256<float>.Zero, dst + i);
        for (; i < n; i++) dst[i] = 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddTo(float* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(dst + i) + Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }
}
