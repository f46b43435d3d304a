using ILGPU;
using ILGPU.Algorithms;

namespace Sifa.Tensors.Gpu;

// Index ops over dense tensors viewed as (outer, n, inner) around the indexed dim. Host index arrays are checked on the
// host and uploaded (as int bits in a float buffer from the caching allocator). Index tensors (Gather, ScatterAdd) are
// device data and cannot be checked without a read-back: an out-of-range index yields NaN (gather) or is skipped
// (scatter). Repeated indices accumulate with atomic adds, so IndexAdd/ScatterAdd sums are not bit-reproducible.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor IndexSelect(Tensor x, int dim, int[] index)
    {
        var xc = x.Contiguous();
        var (outer, n, inner) = SplitAt(xc.Shape, dim);
        IndexingChecks.IndexRange(index, dim, n);
        var shape = (int[])xc.Shape.Clone();
        shape[dim] = index.Length;
        var y = Empty(shape);
        if (y.Numel == 0) return y;
        var (keep, idx) = UploadInts(index);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(IndexingKernels.IndexSelect)(
            Stream, y.Numel, View(xc), View(y), idx, n, inner);
        GC.KeepAlive(keep);
        return y;
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int dim, int[] index, Tensor src)
    {
        if (!dst.IsContiguous) throw new ArgumentException("index_add destination must be dense");
        var sc = src.Contiguous();
        var (_, n, inner) = SplitAt(dst.Shape, dim);
        IndexingChecks.IndexRange(index, dim, n);
        if (sc.Numel == 0) return;
        var (keep, idx) = UploadInts(index);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IndexingKernels.IndexAdd)(
            Stream, sc.Numel, View(dst), View(sc), idx, n, index.Length, inner);
        GC.KeepAlive(keep);
    }

    /// <inheritdoc/>
    public Tensor Gather(Tensor x, int dim, Tensor index)
    {
        var xc = x.Contiguous(); var ic = index.Contiguous();
        var (_, n, inner) = SplitAt(xc.Shape, dim);
        int m = ic.Shape[dim];
        var y = Empty(ic.Shape);
        if (y.Numel == 0) return y;
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(IndexingKernels.Gather)(
            Stream, y.Numel, View(xc), View(ic), View(y), n, m, inner);
        return y;
    }

    /// <inheritdoc/>
    public Tensor ScatterAdd(int[] shape, int dim, Tensor index, Tensor src)
    {
        var ic = index.Contiguous(); var sc = src.Contiguous();
        var y = Zeros(shape);
        var (_, n, inner) = SplitAt(shape, dim);
        int m = ic.Shape[dim];
        if (ic.Numel == 0) return y;
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(IndexingKernels.ScatterAdd)(
            Stream, ic.Numel, View(ic), View(sc), View(y), n, m, inner);
        return y;
    }
}

internal static class IndexingKernels
{
    /// <summary>y (outer, m, inner)[o, j, i] = x (outer, n, inner)[o, index[j], i].</summary>
    public static void IndexSelect(Index1D e, ArrayView<float> x, ArrayView<float> y, ArrayView<int> index, int n, int inner)
    {
        int m = (int)index.Length;
        int i = e % inner, oj = e / inner, j = oj % m, o = oj / m;
        y[e] = x[(o * n + index[j]) * inner + i];
    }

    /// <summary>dst (outer, n, inner)[o, index[j], i] += src (outer, m, inner)[o, j, i].</summary>
    public static void IndexAdd(Index1D e, ArrayView<float> dst, ArrayView<float> src, ArrayView<int> index, int n, int m, int inner)
    {
        int i = e % inner, oj = e / inner, j = oj % m, o = oj / m;
        Atomic.Add(ref dst[(o * n + index[j]) * inner + i], src[e]);
    }

    /// <summary>y[o, j, i] = x[o, index[o, j, i], i] (torch.gather).</summary>
    public static void Gather(Index1D e, ArrayView<float> x, ArrayView<float> index, ArrayView<float> y, int n, int m, int inner)
    {
        int i = e % inner, o = e / inner / m;
        int k = (int)index[e];
        y[e] = k >= 0 && k < n ? x[(o * n + k) * inner + i] : float.NaN;
    }

    /// <summary>y[o, index[o, j, i], i] += src[o, j, i].</summary>
    public static void ScatterAdd(Index1D e, ArrayView<float> index, ArrayView<float> src, ArrayView<float> y, int n, int m, int inner)
    {
        int i = e % inner, o = e / inner / m;
        int k = (int)index[e];
        if (k >= 0 && k < n) Atomic.Add(ref y[(o * n + k) * inner + i], src[e]);
    }
}
