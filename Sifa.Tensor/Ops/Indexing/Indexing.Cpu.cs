namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor IndexSelect(Tensor x, int dim, int[] index)
    {
        IndexingChecks.IndexRange(index, dim, x.Shape[dim]);
        return IndexingKernels.IndexSelect(x, dim, index);
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int dim, int[] index, Tensor src) => IndexingKernels.IndexAdd(dst, dim, index, src);

    /// <inheritdoc/>
    public Tensor Gather(Tensor x, int dim, Tensor index) => IndexingKernels.Gather(x, dim, index);

    /// <inheritdoc/>
    public Tensor ScatterAdd(int[] shape, int dim, Tensor index, Tensor src) => IndexingKernels.ScatterAdd(shape, dim, index, src);
}

// Index kernels on dense tensors viewed as (outer, size of dim, inner) (see ShapeSplit). Concat and roll need none:
// they are strided copies into narrowed views.
internal static class IndexingKernels
{
    public static Tensor IndexSelect(Tensor x, int dim, int[] index)
    {
        var xc = x.Contiguous();
        var (outer, n, inner) = ShapeSplit.AroundDim(xc.Shape, dim);
        var shape = (int[])xc.Shape.Clone();
        shape[dim] = index.Length;
        var y = Tensor.Empty(shape);
        var xs = CpuBackend.Data(xc); var ys = CpuBackend.Data(y);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
                Array.Copy(xs, xc.Offset + (o * n + index[j]) * inner, ys, (o * index.Length + j) * inner, inner);
        return y;
    }

    public static void IndexAdd(Tensor dst, int dim, int[] index, Tensor src)
    {
        if (!dst.IsContiguous) throw new ArgumentException("index_add destination must be dense");
        var sc = src.Contiguous();
        var (outer, n, inner) = ShapeSplit.AroundDim(dst.Shape, dim);
        var ds = CpuBackend.Data(dst); var ss = CpuBackend.Data(sc);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
            {
                int di = dst.Offset + (o * n + index[j]) * inner, si = sc.Offset + (o * index.Length + j) * inner;
                System.Numerics.Tensors.TensorPrimitives.Add(ds.AsSpan(di, inner), ss.AsSpan(si, inner), ds.AsSpan(di, inner));
            }
    }

    public static Tensor Gather(Tensor x, int dim, Tensor index)
    {
        var xc = x.Contiguous(); var ic = index.Contiguous();
        var (outer, n, inner) = ShapeSplit.AroundDim(xc.Shape, dim);
        var (_, m, _) = ShapeSplit.AroundDim(ic.Shape, dim);
        var y = Tensor.Empty(ic.Shape);
        var xs = CpuBackend.Data(xc); var ids = CpuBackend.Data(ic); var ys = CpuBackend.Data(y);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * m + j) * inner + i;
                    int k = (int)ids[ic.Offset + at];
                    if (k < 0 || k >= n) throw new IndexOutOfRangeException($"gather index {k} out of range for size {n}");
                    ys[at] = xs[xc.Offset + (o * n + k) * inner + i];
                }
        return y;
    }

    public static Tensor ScatterAdd(int[] shape, int dim, Tensor index, Tensor src)
    {
        var ic = index.Contiguous(); var sc = src.Contiguous();
        var y = Tensor.Zeros(shape);
        var (outer, n, inner) = ShapeSplit.AroundDim(shape, dim);
        var (_, m, _) = ShapeSplit.AroundDim(ic.Shape, dim);
        var ids = CpuBackend.Data(ic); var ss = CpuBackend.Data(sc); var ys = CpuBackend.Data(y);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * m + j) * inner + i;
                    int k = (int)ids[ic.Offset + at];
                    if (k < 0 || k >= n) throw new IndexOutOfRangeException($"scatter index {k} out of range for size {n}");
                    ys[(o * n + k) * inner + i] += ss[sc.Offset + at];
                }
        return y;
    }
}
