namespace Sifa.Tensors.Cpu;

// Max pooling over NCHW, parallel over the N·C planes. The argmax is kept as the flat index within the input plane.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public unsafe (Tensor Output, Tensor Indices) MaxPool2dForward(Tensor x, Pool2dGeometry geometry)
    {
        var g = geometry;
        if (x.Rank != 4) throw new ArgumentException($"max_pool2d: input must be (N, C, H, W), got {Tensor.Fmt(x.Shape)}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        if (g.KernelH < 1 || g.KernelW < 1 || g.StrideH < 1 || g.StrideW < 1 || g.PadH < 0 || g.PadW < 0
            || g.PadH * 2 > g.KernelH || g.PadW * 2 > g.KernelW)
            throw new ArgumentException($"max_pool2d: invalid window {g} (padding must be at most half the kernel)");
        int ho = g.OutH(h), wo = g.OutW(w);
        if (ho < 1 || wo < 1) throw new ArgumentException($"max_pool2d: window {g} does not fit the input {Tensor.Fmt(x.Shape)}");
        if ((long)h * w > 1 << 24) throw new ArgumentException($"max_pool2d: planes of {h}x{w} are too large for float indices");
        x = x.Contiguous();
        var y = Tensor.Empty(n, c, ho, wo);
        var idx = Tensor.Empty(n, c, ho, wo);
        float[] xd = Data(x), yd = Data(y), id = Data(idx);
        int xo = x.Offset, plane = h * w, oplane = ho * wo;
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
                        for (int ow = 0; ow < wo; ow++)
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
                    }
                }
            }
        }, (long)n * c * oplane * g.KernelH * g.KernelW);
        return (y, idx);
    }

    /// <inheritdoc/>
    public Tensor MaxPool2dBackward(Tensor dy, Tensor indices, int[] inputShape)
    {
        if (inputShape.Length != 4 || dy.Rank != 4 || !dy.Shape.AsSpan().SequenceEqual(indices.Shape)
            || dy.Shape[0] != inputShape[0] || dy.Shape[1] != inputShape[1])
            throw new ArgumentException($"max_pool2d backward: gradient {Tensor.Fmt(dy.Shape)}, indices {Tensor.Fmt(indices.Shape)} and input {Tensor.Fmt(inputShape)} do not match");
        dy = dy.Contiguous(); indices = indices.Contiguous();
        var dx = Tensor.Zeros(inputShape);
        int planes = inputShape[0] * inputShape[1], plane = inputShape[2] * inputShape[3], oplane = dy.Shape[2] * dy.Shape[3];
        float[] gd = Data(dy), id = Data(indices), dd = Data(dx);
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
