using ILGPU;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor Map<TOp>(Tensor x, TOp op, Tensor? dst = null) where TOp : struct, IUnaryOp
    {
        if (dst != null && (!dst.IsContiguous || !dst.Shape.AsSpan().SequenceEqual(x.Shape)))
            throw new ArgumentException($"destination {Tensor.Fmt(dst.Shape)} must be dense with the input's shape {Tensor.Fmt(x.Shape)}");
        var y = dst ?? Empty(x.Shape);
        if (x.Numel == 0) return y;
        if (x.IsContiguous)
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, TOp>(ElementwiseKernels.Map)(Stream, x.Numel, View(x), View(y), op);
        else
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, StridedIndex, TOp>(ElementwiseKernels.MapStrided)(
                Stream, x.Numel, Whole(x), View(y), StridedIndex.For(x), op);
        return y;
    }

    /// <inheritdoc/>
    public Tensor Zip<TOp>(Tensor a, Tensor b, TOp op, Tensor? dst = null) where TOp : struct, IBinaryOp
    {
        var shape = Tensor.BroadcastShapes(a.Shape, b.Shape);
        var y = dst ?? Empty(shape);
        if (!y.IsContiguous || !y.Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"destination {Tensor.Fmt(y.Shape)} must be dense with the broadcast shape {Tensor.Fmt(shape)}");
        if (y.Numel == 0) return y;
        if (a.IsContiguous && b.IsContiguous && a.Numel == y.Numel && b.Numel == y.Numel)
        {
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, TOp>(ElementwiseKernels.Zip)(
                Stream, y.Numel, View(a), View(b), View(y), op);
            return y;
        }
        // Broadcast dims have stride 0 in the expanded views; the index merges what it can (a scalar operand: one run).
        var ae = a.Expand(shape); var be = b.Expand(shape);
        var ix = StridedIndex.Create(shape, ae.Strides, be.Strides, ae.Offset, be.Offset);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, StridedIndex, TOp>(ElementwiseKernels.ZipStrided)(
            Stream, y.Numel, Whole(a), Whole(b), View(y), ix, op);
        return y;
    }
}

/// <summary>
/// Element-wise kernels, generic over the op struct: ILGPU specialises each instantiation, so <c>op.Apply</c> (the op's
/// scalar maths, the same code the CPU's strided loops run) is inlined into the kernel.
/// </summary>
internal static class ElementwiseKernels
{
    public static void Map<TOp>(Index1D i, ArrayView<float> x, ArrayView<float> y, TOp op) where TOp : struct, IUnaryOp =>
        y[i] = op.Apply(x[i]);

    public static void MapStrided<TOp>(Index1D i, ArrayView<float> x, ArrayView<float> y, StridedIndex ix, TOp op)
        where TOp : struct, IUnaryOp =>
        y[i] = op.Apply(x[ix.OffsetOfA(i)]);

    public static void Zip<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, TOp op)
        where TOp : struct, IBinaryOp =>
        y[i] = op.Apply(a[i], b[i]);

    public static void ZipStrided<TOp>(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, StridedIndex ix, TOp op)
        where TOp : struct, IBinaryOp
    {
        ix.Offsets(i, out int ai, out int bi);
        y[i] = op.Apply(a[ai], b[bi]);
    }
}
