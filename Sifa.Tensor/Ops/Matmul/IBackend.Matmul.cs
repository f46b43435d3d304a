namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>Batched matrix product with broadcasting of batch dims: (..., M, K) · (..., K, N).</summary>
    /// <param name="a">Left operand (rank ≥ 2).</param>
    /// <param name="b">Right operand (rank ≥ 2).</param>
    /// <returns>The product.</returns>
    Tensor Matmul(Tensor a, Tensor b);
}

/// <summary>The shape rules of <see cref="IBackend.Matmul"/>, checked here once for every backend.</summary>
internal static class MatmulChecks
{
    /// <summary>Checks the operands and returns the broadcast batch shape and M, K, N.</summary>
    public static (int[] Batch, int M, int K, int N) Shapes(Tensor a, Tensor b)
    {
        if (a.Rank < 2 || b.Rank < 2) throw new ArgumentException($"matmul needs rank ≥ 2, got {Tensor.Fmt(a.Shape)} and {Tensor.Fmt(b.Shape)}");
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw new ArgumentException($"matmul inner sizes differ: {Tensor.Fmt(a.Shape)} · {Tensor.Fmt(b.Shape)}");
        return (Tensor.BroadcastShapes(a.Shape[..^2], b.Shape[..^2]), m, k, n);
    }
}
