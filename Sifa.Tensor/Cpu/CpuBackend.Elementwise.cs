using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor Map<TOp>(Tensor x, TOp op, Tensor? dst = null) where TOp : struct, IUnaryOp
    {
        if (dst != null && (!dst.IsContiguous || !dst.Shape.AsSpan().SequenceEqual(x.Shape)))
            throw new ArgumentException($"destination {Tensor.Fmt(dst.Shape)} must be dense with the input's shape {Tensor.Fmt(x.Shape)}");
        x = x.Contiguous();
        var y = dst ?? Tensor.Empty(x.Shape);
        var xs = Data(x); var ys = Data(y);
        int off = x.Offset, yo = y.Offset;
        CpuParallel.ForChunks(x.Numel, (s, e) => op.ApplySpan(xs.AsSpan(off + s, e - s), ys.AsSpan(yo + s, e - s)), x.Numel * 4L);
        return y;
    }

    /// <inheritdoc/>
    public Tensor Zip<TOp>(Tensor a, Tensor b, TOp op, Tensor? dst = null) where TOp : struct, IBinaryOp
    {
        var shape = Tensor.BroadcastShapes(a.Shape, b.Shape);
        var y = dst ?? Tensor.Empty(shape);
        if (!y.IsContiguous || !y.Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"destination {Tensor.Fmt(y.Shape)} must be dense with the broadcast shape {Tensor.Fmt(shape)}");
        var ad = Data(a); var bd = Data(b); var yd = Data(y);
        int yo = y.Offset;
        if (a.IsContiguous && b.IsContiguous && a.Numel == y.Numel && b.Numel == y.Numel)
        {
            int ao = a.Offset, bo = b.Offset;
            CpuParallel.ForChunks(y.Numel, (s, e) => op.ApplySpan(ad.AsSpan(ao + s, e - s), bd.AsSpan(bo + s, e - s), yd.AsSpan(yo + s, e - s)), y.Numel * 2L);
            return y;
        }
        var ae = a.Expand(shape); var be = b.Expand(shape);
        var lay = new StridedLayout(shape, ae.Strides, be.Strides, y.Strides);
        int inner = lay.Inner, sa = lay.InnerStride(0), sb = lay.InnerStride(1);
        CpuParallel.For(lay.Outer, r =>
        {
            int ao = ae.Offset + lay.RunOffset(0, r), bo = be.Offset + lay.RunOffset(1, r), o = yo + lay.RunOffset(2, r);
            if (sa == 1 && sb == 1) { op.ApplySpan(ad.AsSpan(ao, inner), bd.AsSpan(bo, inner), yd.AsSpan(o, inner)); return; }
            if (sa == 1 && sb == 0) { float bv = bd[bo]; for (int i = 0; i < inner; i++) yd[o + i] = op.Apply(ad[ao + i], bv); return; }
            if (sa == 0 && sb == 1) { float av = ad[ao]; for (int i = 0; i < inner; i++) yd[o + i] = op.Apply(av, bd[bo + i]); return; }
            for (int i = 0; i < inner; i++) yd[o + i] = op.Apply(ad[ao + i * sa], bd[bo + i * sb]);
        }, (long)y.Numel * 2);
        return y;
    }
}
