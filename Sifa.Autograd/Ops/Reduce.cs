using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels: Sifa.Tensor/Ops/Reduce/.
public static partial class Ops
{
    /// <summary>Sum over dims (all when null); backward broadcasts g back over the summed dims.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dims">Dimensions.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The sums.</returns>
    public static Variable Sum(Variable x, int[]? dims = null, bool keepDim = false)
    {
        var nd = x.Data.NormDims(dims);
        var shape = x.Shape;
        return Variable.FromOp(x.Data.Sum(nd, keepDim), "sum", new[] { x }, g => new[] { Unreduce(g, shape, nd, keepDim).Contiguous() });
    }

    /// <summary>Mean over dims (all when null); backward g/n broadcast back.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dims">Dimensions.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The means.</returns>
    public static Variable Mean(Variable x, int[]? dims = null, bool keepDim = false)
    {
        var nd = x.Data.NormDims(dims);
        var shape = x.Shape;
        int n = 1;
        foreach (var d in nd) n *= shape[d];
        return Variable.FromOp(x.Data.Mean(nd, keepDim), "mean", new[] { x }, g => new[] { Unreduce(g, shape, nd, keepDim) * (1f / n) });
    }

    /// <summary>Global average pooling (N, C, H, W) → (N, C): the mean over dims 2 and 3.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <returns>The channel means.</returns>
    public static Variable GlobalAvgPool(Variable x)
    {
        if (x.Rank != 4) throw new ArgumentException($"global_avg_pool: input must be (N, C, H, W), got {Tensor.Fmt(x.Shape)}");
        return Mean(x, new[] { 2, 3 });
    }

    // Broadcasts a reduced gradient back to the input shape (a stride-0 view, no copy).
    private static Tensor Unreduce(Tensor g, int[] shape, int[] dims, bool keepDim)
    {
        if (!keepDim)
            foreach (var d in dims) g = g.Unsqueeze(d);
        return g.Expand(shape);
    }
}
