using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Reductions view the (dense) input as (outer, r, inner) when the reduced dims form one block: inner = 1 reduces rows
// (a group per row, threads stride over it, then a tree), inner > 1 reduces columns (a thread per output, adjacent
// threads read adjacent memory). Other dim sets are permuted innermost first.
// Accuracy: each thread sums its elements in double and the tree combines doubles (per-thread double partials), so a
// sum is exact to float rounding of the result regardless of length; max/min are exact anyway.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor Reduce(Tensor x, int[] dims, bool keepDim, ReduceKind kind)
    {
        var red = new bool[x.Rank];
        foreach (var d in dims) red[d] = true;
        var outShape = Enumerable.Range(0, x.Rank).Where(d => !red[d]).Select(d => x.Shape[d]).ToArray();
        var keptShape = x.Shape.Select((s, d) => red[d] ? 1 : s).ToArray();
        int r = 1;
        foreach (var d in dims) r *= x.Shape[d];
        if (r == 0 && kind is ReduceKind.Max or ReduceKind.Min) throw new ArgumentException("max/min over an empty dimension");
        var y = Empty(outShape);
        if (y.Numel > 0)
        {
            bool block = dims.Length == 0 || dims[^1] - dims[0] == dims.Length - 1;
            Tensor src = x.Contiguous();
            int inner = 1;
            if (block && dims.Length > 0)
                for (int d = dims[^1] + 1; d < x.Rank; d++) inner *= x.Shape[d];
            if (!block || (inner > 1 && inner < 32 && r > 64))
            {
                // Move the reduced dims innermost (a copy) so each output reduces one dense row.
                var perm = Enumerable.Range(0, x.Rank).Where(d => !red[d]).Concat(dims).ToArray();
                src = x.Permute(perm).Contiguous();
                inner = 1;
            }
            if (r == 0) Fill(y, kind == ReduceKind.Mean ? float.NaN : 0f);
            else if (inner == 1)
            {
                int g = GroupReduce.GroupSizeFor(r, MaxGroupSize);
                GroupedKernel<ArrayView<float>, ArrayView<float>, int, int>(ReduceKernels.Rows)(
                    Stream, new KernelConfig(new Index1D(y.Numel), new Index1D(g)), View(src), View(y), r, (int)kind);
            }
            else
                Kernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(ReduceKernels.Columns)(
                    Stream, y.Numel, View(src), View(y), r, inner, (int)kind);
        }
        return keepDim ? y.View(keptShape) : y;
    }

    /// <inheritdoc/>
    public Tensor ArgMax(Tensor x, int dim, bool keepDim)
    {
        var xc = x.Contiguous();
        int outer = 1, inner = 1, n = x.Shape[dim];
        for (int d = 0; d < dim; d++) outer *= x.Shape[d];
        for (int d = dim + 1; d < x.Rank; d++) inner *= x.Shape[d];
        if (n == 0) throw new ArgumentException("argmax over an empty dimension");
        var y = Empty(x.Shape.Where((_, d) => d != dim).ToArray());
        if (y.Numel > 0)
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(ReduceKernels.ArgMax)(Stream, y.Numel, View(xc), View(y), n, inner);
        return keepDim ? y.Unsqueeze(dim) : y;
    }
}

internal static class ReduceKernels
{
    /// <summary>Group per row of <paramref name="length"/> dense elements.</summary>
    public static void Rows(ArrayView<float> x, ArrayView<float> y, int length, int kind)
    {
        var shared = SharedMemory.Allocate<double>(GroupReduce.MaxGroup);
        int row = Grid.IdxX;
        int start = row * length;
        double acc = Combine.Identity(kind);
        for (int j = Group.IdxX; j < length; j += Group.DimX) acc = Combine.Apply(kind, acc, x[start + j]);
        acc = GroupReduce.Reduce(acc, shared, kind);
        if (Group.IdxX == 0) y[row] = (float)(kind == (int)ReduceKind.Mean ? acc / length : acc);
    }

    /// <summary>Thread per output (o, i) of x viewed as (outer, r, inner).</summary>
    public static void Columns(Index1D i, ArrayView<float> x, ArrayView<float> y, int r, int inner, int kind)
    {
        int o = i / inner;
        int at = o * r * inner + (i - o * inner);
        double acc = Combine.Identity(kind);
        for (int k = 0; k < r; k++) acc = Combine.Apply(kind, acc, x[at + k * inner]);
        y[i] = (float)(kind == (int)ReduceKind.Mean ? acc / r : acc);
    }

    /// <summary>First index of the maximum along n (x viewed as (outer, n, inner)); a NaN wins, the first one.</summary>
    public static void ArgMax(Index1D i, ArrayView<float> x, ArrayView<float> y, int n, int inner)
    {
        int o = i / inner;
        int at = o * n * inner + (i - o * inner);
        float best = x[at];
        int arg = 0;
        for (int k = 1; k < n && !float.IsNaN(best); k++)
        {
            float v = x[at + k * inner];
            if (v > best || float.IsNaN(v)) { best = v; arg = k; }
        }
        y[i] = arg;
    }
}
