using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors;

/// <summary>Reductions the backends implement.</summary>
public enum ReduceKind
{
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>Arithmetic mean.</summary>
    Mean,
    /// <summary>Maximum.</summary>
    Max,
    /// <summary>Minimum.</summary>
    Min,
}

public partial interface IBackend
{
    /// <summary>y = op(x), element-wise, written into <paramref name="dst"/> (dense, x's shape; may be x itself) or a new dense tensor.</summary>
    /// <typeparam name="TOp">The op struct.</typeparam>
    /// <param name="x">Input (any layout).</param>
    /// <param name="op">The op.</param>
    /// <param name="dst">Optional destination.</param>
    /// <returns>The result.</returns>
    Tensor Map<TOp>(Tensor x, TOp op, Tensor? dst = null) where TOp : struct, IUnaryOp;

    /// <summary>y = op(a, b) with broadcasting, written into <paramref name="dst"/> (may alias a dense input) or a new tensor.</summary>
    /// <typeparam name="TOp">The op struct.</typeparam>
    /// <param name="a">First input.</param>
    /// <param name="b">Second input.</param>
    /// <param name="op">The op.</param>
    /// <param name="dst">Optional dense destination of the broadcast shape.</param>
    /// <returns>The result.</returns>
    Tensor Zip<TOp>(Tensor a, Tensor b, TOp op, Tensor? dst = null) where TOp : struct, IBinaryOp;

    /// <summary>Reduces over the given (normalised, distinct) dimensions.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dims">Dimensions to reduce.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <param name="kind">The reduction.</param>
    /// <returns>The result.</returns>
    Tensor Reduce(Tensor x, int[] dims, bool keepDim, ReduceKind kind);

    /// <summary>Index of the maximum along one dimension (first on ties), as float values.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="keepDim">Keep the dim as size 1.</param>
    /// <returns>The indices.</returns>
    Tensor ArgMax(Tensor x, int dim, bool keepDim);

    /// <summary>Batched matrix product with broadcasting of batch dims: (..., M, K) · (..., K, N).</summary>
    /// <param name="a">Left operand (rank ≥ 2).</param>
    /// <param name="b">Right operand (rank ≥ 2).</param>
    /// <returns>The product.</returns>
    Tensor Matmul(Tensor a, Tensor b);

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
