namespace Sifa.Tensors;

public partial interface IBackend
{
    // Concat and Roll are strided copies into narrowed views, the same on every device: default implementations over
    // Copy, which a backend may override with a fused kernel.

    /// <summary>Concatenates tensors (same shape except along <paramref name="dim"/>) along a dimension.</summary>
    Tensor Concat(IReadOnlyList<Tensor> parts, int dim)
    {
        var y = Tensor.Empty(IndexingChecks.ConcatShape(parts, dim), Device);
        int at = 0;
        foreach (var p in parts)
        {
            Copy(p, y.Narrow(dim, at, p.Shape[dim]));
            at += p.Shape[dim];
        }
        return y;
    }

    /// <summary>Cyclic shift by <paramref name="shifts"/> along <paramref name="dims"/> (torch.roll); always a new tensor.</summary>
    Tensor Roll(Tensor x, int[] shifts, int[] dims)
    {
        var cur = x;
        for (int i = 0; i < dims.Length; i++)
        {
            int d = dims[i], n = cur.Shape[d];
            if (n == 0) continue;
            int s = ((shifts[i] % n) + n) % n;
            if (s == 0) continue;
            // roll by s: out[s:] = in[:n-s], out[:s] = in[n-s:]
            var y = Tensor.Empty(cur.Shape, Device);
            Copy(cur.Narrow(d, n - s, s), y.Narrow(d, 0, s));
            Copy(cur.Narrow(d, 0, n - s), y.Narrow(d, s, n - s));
            cur = y;
        }
        return cur == x ? x.Clone() : cur;
    }

    /// <summary>Selects entries along a dimension by index (torch.index_select); indices are stored as floats.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">1-D indices.</param>
    /// <returns>The selection.</returns>
    Tensor IndexSelect(Tensor x, int dim, int[] index);

    /// <summary>Adds <paramref name="src"/> slices into <paramref name="dst"/> at the given indices along a dimension (accumulating repeats).</summary>
    /// <param name="dst">Destination (dense), modified in place.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">1-D indices, one per slice of src.</param>
    /// <param name="src">The slices.</param>
    void IndexAdd(Tensor dst, int dim, int[] index, Tensor src);

    /// <summary>Gathers along a dimension: out[..., i, ...] = x[..., index[..., i, ...], ...] (torch.gather).</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">Indices (as floats) shaped like the output.</param>
    /// <returns>The gathered values.</returns>
    Tensor Gather(Tensor x, int dim, Tensor index);

    /// <summary>The adjoint of <see cref="Gather"/>: adds src into a zero tensor of <paramref name="shape"/> at the indices.</summary>
    /// <param name="shape">The output shape.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">Indices shaped like src.</param>
    /// <param name="src">Values.</param>
    /// <returns>The scattered sums.</returns>
    Tensor ScatterAdd(int[] shape, int dim, Tensor index, Tensor src);
}

/// <summary>The shape rules of the indexing ops, checked here once for every backend.</summary>
internal static class IndexingChecks
{
    /// <summary>Checks that the parts agree except along <paramref name="dim"/> and returns the concatenated shape.</summary>
    public static int[] ConcatShape(IReadOnlyList<Tensor> parts, int dim)
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
        return shape;
    }

    /// <summary>Throws unless every index lies in [0, size of dim).</summary>
    public static void IndexRange(int[] index, int dim, int size)
    {
        foreach (var i in index) if (i < 0 || i >= size) throw new IndexOutOfRangeException($"index {i} out of range for dim {dim} of size {size}");
    }
}
