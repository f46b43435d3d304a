using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sifa.Tensors.Cpu;

// The unfolding (im2col) of the CPU convolution and its adjoint (col2im), for whole images, column chunks or one image's
// block of a several-image product.
internal static partial class Conv2dKernels
{
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
                        if ((uint)ih >= (uint)H || l >= h) { SimdMath.ZeroRun(r + a, b - a); continue; }
                        if (l > a) SimdMath.ZeroRun(r + a, l - a);
                        if (h < b) SimdMath.ZeroRun(r + h, b - h);
                        float* src = xc + (long)ih * W + dw;
                        if (sw == 1) SimdMath.CopyRun(src + l, r + l, h - l);
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
                        if (sw == 1) SimdMath.AddRun(r + l, dst + l, h - l);
                        else for (int ow = l; ow < h; ow++) dst[(long)ow * sw] += r[ow];
                    }
                }
            }
        }
    }
}
