namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>Concatenates tensors along a dimension.</summary>
    /// <param name="parts">The tensors (same shape except along dim).</param>
    /// <param name="dim">The dimension.</param>
    /// <returns>The result.</returns>
    Tensor Concat(IReadOnlyList<Tensor> parts, int dim);

    /// <summary>Cyclic shift along dimensions (torch.roll).</summary>
    /// <param name="x">Input.</param>
    /// <param name="shifts">Shift per listed dim.</param>
    /// <param name="dims">The dims.</param>
    /// <returns>The rolled tensor.</returns>
    Tensor Roll(Tensor x, int[] shifts, int[] dims);

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
