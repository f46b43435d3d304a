namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    // Views a dense tensor as (outer, size of dim, inner): the layout all index kernels below work in.
    private static (int outer, int n, int inner) Split(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, shape[dim], inner);
    }

    /// <inheritdoc/>
    public Tensor Concat(IReadOnlyList<Tensor> parts, int dim)
    {
        if (parts.Count == 0) throw new ArgumentException("concat of no tensors");
        var first = parts[0];
        int total = 0;
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank) throw new ArgumentException($"concat of ranks {first.Rank} and {p.Rank}");
            for (int d = 0; d < p.Rank; d++)
                if (d != dim && p.Shape[d] != first.Shape[d])
                    throw new ArgumentException($"concat along {dim}: shapes {Tensor.Fmt(first.Shape)} and {Tensor.Fmt(p.Shape)} differ elsewhere");
            total += p.Shape[dim];
        }
        var shape = (int[])first.Shape.Clone();
        shape[dim] = total;
        var y = Tensor.Empty(shape);
        int at = 0;
        foreach (var p in parts)
        {
            Copy(p, y.Narrow(dim, at, p.Shape[dim]));
            at += p.Shape[dim];
        }
        return y;
    }

    /// <inheritdoc/>
    public Tensor Roll(Tensor x, int[] shifts, int[] dims)
    {
        var cur = x;
        for (int i = 0; i < dims.Length; i++)
        {
            int d = dims[i], n = cur.Shape[d];
            if (n == 0) continue;
            int s = ((shifts[i] % n) + n) % n;
            if (s == 0) continue;
            // roll by s: out[s:] = in[:n-s], out[:s] = in[n-s:]
            var y = Tensor.Empty(cur.Shape);
            Copy(cur.Narrow(d, n - s, s), y.Narrow(d, 0, s));
            Copy(cur.Narrow(d, 0, n - s), y.Narrow(d, s, n - s));
            cur = y;
        }
        return cur == x ? x.Clone() : cur;
    }

    /// <inheritdoc/>
    public Tensor IndexSelect(Tensor x, int dim, int[] index)
    {
        var xc = x.Contiguous();
        var (outer, n, inner) = Split(xc.Shape, dim);
        var shape = (int[])xc.Shape.Clone();
        shape[dim] = index.Length;
        var y = Tensor.Empty(shape);
        var xs = Data(xc); var ys = Data(y);
        foreach (var i in index) if (i < 0 || i >= n) throw new IndexOutOfRangeException($"index {i} out of range for dim {dim} of size {n}");
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
                Array.Copy(xs, xc.Offset + (o * n + index[j]) * inner, ys, (o * index.Length + j) * inner, inner);
        return y;
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int dim, int[] index, Tensor src)
    {
        if (!dst.IsContiguous) throw new ArgumentException("index_add destination must be dense");
        var sc = src.Contiguous();
        var (outer, n, inner) = Split(dst.Shape, dim);
        var ds = Data(dst); var ss = Data(sc);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
            {
                int di = dst.Offset + (o * n + index[j]) * inner, si = sc.Offset + (o * index.Length + j) * inner;
                System.Numerics.Tensors.TensorPrimitives.Add(ds.AsSpan(di, inner), ss.AsSpan(si, inner), ds.AsSpan(di, inner));
            }
    }

    /// <inheritdoc/>
    public Tensor Gather(Tensor x, int dim, Tensor index)
    {
        var xc = x.Contiguous(); var ic = index.Contiguous();
        var (outer, n, inner) = Split(xc.Shape, dim);
        var (_, m, _) = Split(ic.Shape, dim);
        var y = Tensor.Empty(ic.Shape);
        var xs = Data(xc); var ids = Data(ic); var ys = Data(y);
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

    /// <inheritdoc/>
    public Tensor ScatterAdd(int[] shape, int dim, Tensor index, Tensor src)
    {
        var ic = index.Contiguous(); var sc = src.Contiguous();
        var y = Tensor.Zeros(shape);
        var (outer, n, inner) = Split(shape, dim);
        var (_, m, _) = Split(ic.Shape, dim);
        var ids = Data(ic); var ss = Data(sc); var ys = Data(y);
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
