using System.Buffers;
using System.Numerics.Tensors;

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

        public ConvShape(int[] x, int[] w, Conv2dGeometry g)
        {
            N = x[0]; C = x[1]; H = x[2]; W = x[3];
            Cout = w[0]; Kh = w[2]; Kw = w[3];
            Groups = g.Groups;
            Cg = C / Groups; Mg = Cout / Groups;
            Ho = g.OutH(H, Kh); Wo = g.OutW(W, Kw);
            K = Cg * Kh * Kw; P = Ho * Wo;
            Direct = Kh == 1 && Kw == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0;
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

        void Image(int n, bool par)
        {
            fixed (float* px = xd, pw = wd, py = yd)
            {
                float* xn = px + xo + (long)n * s.C * s.H * s.W;
                float* yn = py + (long)n * s.Cout * s.P;
                for (int grp = 0; grp < s.Groups; grp++)
                {
                    float* xg = xn + (long)grp * s.Cg * s.H * s.W;
                    float* b;
                    if (s.Direct) b = xg;
                    else
                    {
                        b = PinnedThreadBuffer.Get((long)s.K * s.P);
                        Im2ColPar(xg, s, g, b, par);
                    }
                    if (packed != 0) Sgemm.MultiplyPacked(s.Mg, s.P, s.K, (float*)packed + grp * packedStride, false, b, s.P, 0f, yn + (long)grp * s.Mg * s.P, s.P);
                    else Sgemm.Multiply(false, false, s.Mg, s.P, s.K, 1f, pw + wo + (long)grp * s.Mg * s.K, s.K,
                        b, s.P, 0f, yn + (long)grp * s.Mg * s.P, s.P, par);
                }
                if (bd != null)
                    for (int co = 0; co < s.Cout; co++)
                    {
                        var row = new Span<float>(yn + (long)co * s.P, s.P);
                        TensorPrimitives.Add(row, bd[bo + co], row);
                    }
            }
        }

        if (parts > 1)
            CpuParallel.For(parts, p =>
            {
                int n0 = (int)((long)s.N * p / parts), n1 = (int)((long)s.N * (p + 1) / parts);
                for (int n = n0; n < n1; n++) Image(n, false);
            });
        else
            for (int n = 0; n < s.N; n++) Image(n, true);
        return y;
    }

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
        nint packedT = parts > 1 && needInput ? PackWeights(wd, wo, s, transposed: true) : 0;
        long packedStride = Sgemm.PackedALength(s.K, s.Mg);

        void Part(int p, bool par)
        {
            int n0 = (int)((long)s.N * p / parts), n1 = (int)((long)s.N * (p + 1) / parts);
            var wa = wAcc[p];
            var ba = bAcc[p];
            if (wa != null) wa.AsSpan(0, wSize).Clear();
            fixed (float* px = xd, pw = wd, pdy = dyd, pdx = dxd, pwa = wa)
            {
                for (int n = n0; n < n1; n++)
                {
                    float* dyn = pdy + dyo + (long)n * s.Cout * s.P;
                    for (int grp = 0; grp < s.Groups; grp++)
                    {
                        float* dyg = dyn + (long)grp * s.Mg * s.P;
                        float* xg = px + xo + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W;
                        float* cols = s.Direct || !(needWeight || needInput) ? null : PinnedThreadBuffer.Get((long)s.K * s.P);
                        if (needWeight)
                        {
                            float* b = xg;
                            if (!s.Direct) { Im2ColPar(xg, s, g, cols, par); b = cols; }
                            Sgemm.Multiply(false, true, s.Mg, s.K, s.P, 1f, dyg, s.P, b, s.P, 1f, pwa + (long)grp * s.Mg * s.K, s.K, par);
                        }
                        if (needInput)
                        {
                            float* dxg = pdx + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W;
                            float* wg = pw + wo + (long)grp * s.Mg * s.K;
                            // dx (direct) or dcols = Wᵀ·dY; for a direct convolution K = Cg.
                            float* dst = s.Direct ? dxg : cols;
                            if (packedT != 0) Sgemm.MultiplyPacked(s.K, s.P, s.Mg, (float*)packedT + grp * packedStride, false, dyg, s.P, 0f, dst, s.P);
                            else Sgemm.Multiply(true, false, s.K, s.P, s.Mg, 1f, wg, s.K, dyg, s.P, 0f, dst, s.P, par);
                            if (!s.Direct) Col2ImPar(cols, s, g, dxg, par);
                        }
                    }
                    if (ba != null)
                        for (int co = 0; co < s.Cout; co++)
                            ba[co] += TensorPrimitives.Sum(new ReadOnlySpan<float>(dyn + (long)co * s.P, s.P));
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
        if (!par || (long)s.K * s.P < 1L << 16 || s.Cg < 2) { Im2Col(x, 0, s.Cg, s, g, cols); return; }
        nint xp = (nint)x, cp = (nint)cols;
        var ss = s; var gg = g;
        CpuParallel.ForChunks(s.Cg, (c0, c1) => Im2Col((float*)xp, c0, c1, ss, gg, (float*)cp));
    }

    private static unsafe void Col2ImPar(float* cols, in ConvShape s, in Conv2dGeometry g, float* dx, bool par)
    {
        if (!par || (long)s.K * s.P < 1L << 16 || s.Cg < 2) { Col2Im(cols, 0, s.Cg, s, g, dx); return; }
        nint xp = (nint)dx, cp = (nint)cols;
        var ss = s; var gg = g;
        CpuParallel.ForChunks(s.Cg, (c0, c1) => Col2Im((float*)cp, c0, c1, ss, gg, (float*)xp));
    }

    // The output columns [lo, hi) whose input column ow·stride + shift lies inside [0, size).
    private static void ValidRange(int shift, int stride, int size, int outSize, out int lo, out int hi)
    {
        lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
        hi = size - shift <= 0 ? 0 : (size - shift + stride - 1) / stride;
        hi = Math.Min(hi, outSize);
        lo = Math.Min(lo, hi);
    }

    /// <summary>Unfolds channels [c0, c1) of one image (x points at channel 0) into rows (c, ki, kj) × (oh, ow) of cols.</summary>
    private static unsafe void Im2Col(float* x, int c0, int c1, in ConvShape s, in Conv2dGeometry g, float* cols)
    {
        int H = s.H, W = s.W, Ho = s.Ho, Wo = s.Wo, P = s.P, sh = g.StrideH, sw = g.StrideW;
        for (int c = c0; c < c1; c++)
        {
            float* xc = x + (long)c * H * W;
            for (int ki = 0; ki < s.Kh; ki++)
            {
                int dh = ki * g.DilationH - g.PadH;
                for (int kj = 0; kj < s.Kw; kj++)
                {
                    int dw = kj * g.DilationW - g.PadW;
                    float* row = cols + ((long)(c * s.Kh + ki) * s.Kw + kj) * P;
                    ValidRange(dw, sw, W, Wo, out int lo, out int hi);
                    for (int oh = 0; oh < Ho; oh++)
                    {
                        float* r = row + (long)oh * Wo;
                        int ih = oh * sh + dh;
                        if ((uint)ih >= (uint)H || lo >= hi) { new Span<float>(r, Wo).Clear(); continue; }
                        if (lo > 0) new Span<float>(r, lo).Clear();
                        if (hi < Wo) new Span<float>(r + hi, Wo - hi).Clear();
                        float* src = xc + (long)ih * W + dw;
                        if (sw == 1) new ReadOnlySpan<float>(src + lo, hi - lo).CopyTo(new Span<float>(r + lo, hi - lo));
                        else if (sw == 2) for (int ow = lo; ow < hi; ow++) r[ow] = src[2 * ow];
                        else for (int ow = lo; ow < hi; ow++) r[ow] = src[(long)ow * sw];
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: writes channels [c0, c1) of dx (x points at channel 0) as the sum of the column entries.</summary>
    private static unsafe void Col2Im(float* cols, int c0, int c1, in ConvShape s, in Conv2dGeometry g, float* dx)
    {
        int H = s.H, W = s.W, Ho = s.Ho, Wo = s.Wo, P = s.P, sh = g.StrideH, sw = g.StrideW;
        for (int c = c0; c < c1; c++)
        {
            float* xc = dx + (long)c * H * W;
            new Span<float>(xc, H * W).Clear();
            for (int ki = 0; ki < s.Kh; ki++)
            {
                int dh = ki * g.DilationH - g.PadH;
                for (int kj = 0; kj < s.Kw; kj++)
                {
                    int dw = kj * g.DilationW - g.PadW;
                    float* row = cols + ((long)(c * s.Kh + ki) * s.Kw + kj) * P;
                    ValidRange(dw, sw, W, Wo, out int lo, out int hi);
                    if (lo >= hi) continue;
                    for (int oh = 0; oh < Ho; oh++)
                    {
                        int ih = oh * sh + dh;
                        if ((uint)ih >= (uint)H) continue;
                        float* r = row + (long)oh * Wo;
                        float* dst = xc + (long)ih * W + dw;
                        if (sw == 1)
                        {
                            var d = new Span<float>(dst + lo, hi - lo);
                            TensorPrimitives.Add(d, new ReadOnlySpan<float>(r + lo, hi - lo), d);
                        }
                        else for (int ow = lo; ow < hi; ow++) dst[(long)ow * sw] += r[ow];
                    }
                }
            }
        }
    }
}
