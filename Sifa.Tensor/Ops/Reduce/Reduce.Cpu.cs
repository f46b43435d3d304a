using System.Numerics.Tensors;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor Reduce(Tensor x, int[] dims, bool keepDim, ReduceKind kind) => ReduceKernels.Reduce(x, dims, keepDim, kind);

    /// <inheritdoc/>
    public Tensor ArgMax(Tensor x, int dim, bool keepDim) => ReduceKernels.ArgMax(x, dim, keepDim);
}

internal static class ReduceKernels
{
    public static Tensor Reduce(Tensor x, int[] dims, bool keepDim, ReduceKind kind)
    {
        // Move the reduced dims innermost, so each output element reduces one dense row.
        var red = new bool[x.Rank];
        foreach (var d in dims) red[d] = true;
        var perm = Enumerable.Range(0, x.Rank).Where(d => !red[d]).Concat(Enumerable.Range(0, x.Rank).Where(d => red[d])).ToArray();
        var outShape = Enumerable.Range(0, x.Rank).Where(d => !red[d]).Select(d => x.Shape[d]).ToArray();
        int rowLen = 1;
        foreach (var d in dims) rowLen *= x.Shape[d];
        var xp = x.Permute(perm).Contiguous();
        var y = Tensor.Empty(outShape);
        var xs = CpuBackend.Data(xp); var ys = CpuBackend.Data(y);
        int rows = y.Numel, xo = xp.Offset;
        if (rowLen == 0 && kind is ReduceKind.Max or ReduceKind.Min) throw new ArgumentException("max/min over an empty dimension");
        CpuParallel.ForChunks(rows, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var row = new ReadOnlySpan<float>(xs, xo + r * rowLen, rowLen);
                ys[r] = kind switch
                {
                    ReduceKind.Sum => SumAccurate(row),
                    ReduceKind.Mean => rowLen == 0 ? float.NaN : SumAccurate(row) / rowLen,
                    ReduceKind.Max => TensorPrimitives.Max(row),
                    _ => TensorPrimitives.Min(row),
                };
            }
        }, (long)x.Numel);
        if (keepDim)
        {
            var ks = x.Shape.Select((s, d) => red[d] ? 1 : s).ToArray();
            return y.View(ks);
        }
        return y;
    }

    // Sums long rows in blocks so float rounding stays small (pairwise over 4096-element blocks).
    private static float SumAccurate(ReadOnlySpan<float> row)
    {
        if (row.Length <= 4096) return TensorPrimitives.Sum(row);
        double acc = 0;
        for (int i = 0; i < row.Length; i += 4096) acc += TensorPrimitives.Sum(row.Slice(i, Math.Min(4096, row.Length - i)));
        return (float)acc;
    }

    public static Tensor ArgMax(Tensor x, int dim, bool keepDim)
    {
        var perm = Enumerable.Range(0, x.Rank).Where(d => d != dim).Append(dim).ToArray();
        var xp = x.Permute(perm).Contiguous();
        int n = x.Shape[dim];
        var outShape = x.Shape.Where((_, d) => d != dim).ToArray();
        var y = Tensor.Empty(outShape);
        var xs = CpuBackend.Data(xp); var ys = CpuBackend.Data(y);
        for (int r = 0; r < y.Numel; r++) ys[r] = TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(xs, xp.Offset + r * n, n));
        return keepDim ? y.Unsqueeze(dim) : y;
    }
}
