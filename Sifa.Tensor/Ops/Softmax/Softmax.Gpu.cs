using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Softmax along one dim of a dense tensor viewed as (outer, n, inner): along the last dim a group per row (tree
// reductions of max and sum); along other dims a thread per (outer, inner) column, whose reads are coalesced.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor SoftmaxForward(Tensor x, int dim, bool log)
    {
        x = x.Contiguous();
        var (outer, n, inner) = SplitAt(x.Shape, dim);
        var y = Empty(x.Shape);
        if (x.Numel == 0) return y;
        if (inner == 1)
            GroupedKernel<ArrayView<float>, ArrayView<float>, int, int>(SoftmaxKernels.ForwardRows)(
                Stream, new KernelConfig(new Index1D(outer), new Index1D(GroupReduce.GroupSizeFor(n, MaxGroupSize))), View(x), View(y), n, log ? 1 : 0);
        else
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.ForwardColumns)(
                Stream, outer * inner, View(x), View(y), n, inner, log ? 1 : 0);
        return y;
    }

    /// <inheritdoc/>
    public Tensor SoftmaxBackward(Tensor y, Tensor dy, int dim, bool log)
    {
        if (!y.Shape.AsSpan().SequenceEqual(dy.Shape))
            throw new ArgumentException($"softmax backward: output {Tensor.Fmt(y.Shape)} and gradient {Tensor.Fmt(dy.Shape)} differ");
        y = y.Contiguous(); dy = dy.Contiguous();
        var (outer, n, inner) = SplitAt(y.Shape, dim);
        var dx = Empty(y.Shape);
        if (y.Numel == 0) return dx;
        if (inner == 1)
            GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SoftmaxKernels.BackwardRows)(
                Stream, new KernelConfig(new Index1D(outer), new Index1D(GroupReduce.GroupSizeFor(n, MaxGroupSize))), View(y), View(dy), View(dx), n, log ? 1 : 0);
        else
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.BackwardColumns)(
                Stream, outer * inner, View(y), View(dy), View(dx), n, inner, log ? 1 : 0);
        return dx;
    }
}

internal static class SoftmaxKernels
{
    public static void ForwardRows(ArrayView<float> x, ArrayView<float> y, int n, int log)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroup);
        int start = Grid.IdxX * n, t = Group.IdxX, g = Group.DimX;
        float max = float.NegativeInfinity;
        for (int j = t; j < n; j += g)
        {
            float v = x[start + j];
            if (v > max || float.IsNaN(v)) max = v;
        }
        max = GroupSums.Max(shared, max);
        float sum = 0;
        for (int j = t; j < n; j += g) sum += MathF.Exp(x[start + j] - max);
        sum = GroupSums.Sum(shared, sum);
        if (log != 0)
        {
            float lse = max + MathF.Log(sum);
            for (int j = t; j < n; j += g) y[start + j] = x[start + j] - lse;
        }
        else
        {
            float inv = 1f / sum;
            for (int j = t; j < n; j += g) y[start + j] = MathF.Exp(x[start + j] - max) * inv;
        }
    }

    public static void ForwardColumns(Index1D i, ArrayView<float> x, ArrayView<float> y, int n, int inner, int log)
    {
        int o = i / inner;
        int at = o * n * inner + (i - o * inner);
        float max = float.NegativeInfinity;
        for (int k = 0; k < n; k++)
        {
            float v = x[at + k * inner];
            if (v > max || float.IsNaN(v)) max = v;
        }
        float sum = 0;
        for (int k = 0; k < n; k++) sum += MathF.Exp(x[at + k * inner] - max);
        if (log != 0)
        {
            float lse = max + MathF.Log(sum);
            for (int k = 0; k < n; k++) y[at + k * inner] = x[at + k * inner] - lse;
        }
        else
        {
            float inv = 1f / sum;
            for (int k = 0; k < n; k++) y[at + k * inner] = MathF.Exp(x[at + k * inner] - max) * inv;
        }
    }

    // softmax: dx = y·(dy − Σ dy·y); log-softmax: dx = dy − exp(y)·Σ dy.
    public static void BackwardRows(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, int log)
    {
        var shared = SharedMemory.Allocate<float>(GroupReduce.MaxGroup);
        int start = Grid.IdxX * n, t = Group.IdxX, g = Group.DimX;
        float s = 0;
        for (int j = t; j < n; j += g) s += log != 0 ? dy[start + j] : dy[start + j] * y[start + j];
        s = GroupSums.Sum(shared, s);
        for (int j = t; j < n; j += g)
            dx[start + j] = log != 0 ? dy[start + j] - MathF.Exp(y[start + j]) * s : y[start + j] * (dy[start + j] - s);
    }

    public static void BackwardColumns(Index1D i, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, int inner, int log)
    {
        int o = i / inner;
        int at = o * n * inner + (i - o * inner);
        float s = 0;
        for (int k = 0; k < n; k++) s += log != 0 ? dy[at + k * inner] : dy[at + k * inner] * y[at + k * inner];
        for (int k = 0; k < n; k++)
        {
            int p = at + k * inner;
            dx[p] = log != 0 ? dy[p] - MathF.Exp(y[p]) * s : y[p] * (dy[p] - s);
        }
    }
}
