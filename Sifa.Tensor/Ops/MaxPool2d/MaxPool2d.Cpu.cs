using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public (Tensor Output, Tensor Indices) MaxPool2dForward(Tensor x, Pool2dGeometry geometry)
    {
        geometry.Validate(x.Shape);
        return MaxPool2dKernels.Forward(x, geometry);
    }

    /// <inheritdoc/>
    public Tensor MaxPool2dBackward(Tensor dy, Tensor indices, int[] inputShape)
    {
        Pool2dGeometry.ValidateGradient(dy.Shape, indices.Shape, inputShape);
        return MaxPool2dKernels.Backward(dy, indices, inputShape);
    }
}

// Max pooling over NCHW, parallel over the N·C planes. The argmax is kept as the flat index within the input plane.
internal static class MaxPool2dKernels
{
    public static unsafe (Tensor Output, Tensor Indices) Forward(Tensor x, Pool2dGeometry geometry)
    {
        var g = geometry;
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ho = g.OutH(h), wo = g.OutW(w);
        x = x.Contiguous();
        var y = Tensor.Empty(n, c, ho, wo);
        var idx = Tensor.Empty(n, c, ho, wo);
        float[] xd = CpuBackend.Data(x), yd = CpuBackend.Data(y), id = CpuBackend.Data(idx);
        int xo = x.Offset, plane = h * w, oplane = ho * wo;
        // Outputs whose windows lie inside the columns: ow·sw − padW ≥ 0 and ow·sw − padW + kw ≤ w.
        int inFirst = (g.PadW + g.StrideW - 1) / g.StrideW, inLast = (w - g.KernelW + g.PadW) / g.StrideW;
        bool vector = Avx2.IsSupported && inLast - inFirst >= 7;
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * g.StrideW;   // eight windows' column offsets
        CpuParallel.ForChunks(n * c, (p0, p1) =>
        {
            fixed (float* px0 = xd, py0 = yd, pi0 = id)
            {
                for (int p = p0; p < p1; p++)
                {
                    float* xp = px0 + xo + (long)p * plane;
                    float* yp = py0 + (long)p * oplane, ip = pi0 + (long)p * oplane;
                    for (int oh = 0; oh < ho; oh++)
                    {
                        int hs = oh * g.StrideH - g.PadH;
                        int h0 = Math.Max(hs, 0), h1 = Math.Min(hs + g.KernelH, h);
                        int ow = 0;
                        if (vector)
                        {
                            // Scalar up to the first window inside the row, then 8 windows per step while they stay inside.
                            for (; ow < wo && ow < inFirst; ow++) Window(xp, yp, ip, oh, ow, h0, h1);
                            for (; ow + 8 <= wo && ow + 7 <= inLast; ow += 8) Windows8(xp, yp, ip, oh, ow, h0, h1);
                        }
                        for (; ow < wo; ow++) Window(xp, yp, ip, oh, ow, h0, h1);
                    }
                }
            }
        }, (long)n * c * oplane * g.KernelH * g.KernelW);
        return (y, idx);

        // One output: the first maximum in row-major window order; a NaN wins (as in PyTorch's kernel).
        void Window(float* xp, float* yp, float* ip, int oh, int ow, int h0, int h1)
        {
            int ws = ow * g.StrideW - g.PadW;
            int w0 = Math.Max(ws, 0), w1 = Math.Min(ws + g.KernelW, w);
            float best = float.NegativeInfinity;
            int bi = h0 * w + w0;
            for (int ih = h0; ih < h1; ih++)
            {
                float* row = xp + ih * w;
                for (int iw = w0; iw < w1; iw++)
                {
                    float v = row[iw];
                    if (v > best || float.IsNaN(v)) { best = v; bi = ih * w + iw; }
                }
            }
            yp[oh * wo + ow] = best;
            ip[oh * wo + ow] = bi;
        }

        // Outputs ow..ow+7 of a row whose windows lie inside the image columns: the same rule on 8 lanes, the taps
        // gathered at the stride (a data-dependent branch per compare mispredicted on about every other tap).
        void Windows8(float* xp, float* yp, float* ip, int oh, int ow, int h0, int h1)
        {
            int ws = ow * g.StrideW - g.PadW;
            var best = Vector256.Create(float.NegativeInfinity);
            var bi = Vector256.Create((float)(h0 * w + ws));
            for (int ih = h0; ih < h1; ih++)
                for (int kj = 0; kj < g.KernelW; kj++)
                {
                    int at = ih * w + ws + kj;
                    var v = Avx2.GatherVector256(xp + at, lanes, 4);
                    var take = Avx.Or(Avx.Compare(v, best, FloatComparisonMode.OrderedGreaterThanNonSignaling),
                        Avx.Compare(v, v, FloatComparisonMode.UnorderedNonSignaling));
                    best = Avx.BlendVariable(best, v, take);
                    bi = Avx.BlendVariable(bi, Avx.ConvertToVector256Single(lanes + Vector256.Create(at)), take);
                }
            Avx.Store(yp + oh * wo + ow, best);
            Avx.Store(ip + oh * wo + ow, bi);
        }
    }

    public static Tensor Backward(Tensor dy, Tensor indices, int[] inputShape)
    {
        dy = dy.Contiguous(); indices = indices.Contiguous();
        var dx = Tensor.Zeros(inputShape);
        int planes = inputShape[0] * inputShape[1], plane = inputShape[2] * inputShape[3], oplane = dy.Shape[2] * dy.Shape[3];
        float[] gd = CpuBackend.Data(dy), id = CpuBackend.Data(indices), dd = CpuBackend.Data(dx);
        int go = dy.Offset, io = indices.Offset;
        CpuParallel.ForChunks(planes, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                int gb = go + p * oplane, ib = io + p * oplane, db = p * plane;
                for (int j = 0; j < oplane; j++)
                {
                    int k = (int)id[ib + j];
                    if ((uint)k >= (uint)plane) throw new IndexOutOfRangeException($"max_pool2d backward: index {k} outside a plane of {plane}");
                    dd[db + k] += gd[gb + j];
                }
            }
        }, (long)dy.Numel);
        return dx;
    }
}
