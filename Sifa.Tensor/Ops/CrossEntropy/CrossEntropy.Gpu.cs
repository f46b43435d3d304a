using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Cross-entropy with label smoothing on the GPU (CrossEntropyGpuKernels). Targets are host ints, uploaded per call.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public (Tensor Loss, Tensor LogProbs) CrossEntropyForward(Tensor logits, int[] targets, float labelSmoothing)
    {
        CrossEntropyChecks.Forward(logits, targets, labelSmoothing);
        int n = logits.Shape[0], k = logits.Shape[1];
        logits = logits.Contiguous();
        var lp = Empty(n, k);
        var loss = Empty();
        var a = new CrossEntropyArgs { N = n, K = k, Smoothing = labelSmoothing };
        var (holder, tv) = UploadInts(targets);
        var rowLoss = Empty(n);
        GroupedKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, CrossEntropyArgs>(CrossEntropyGpuKernels.RowForward)(
            Stream, ReduceConfig(n, k), View(logits), tv, View(lp), View(rowLoss), a);
        GroupedKernel<ArrayView<float>, ArrayView<float>, CrossEntropyArgs>(CrossEntropyGpuKernels.MeanLoss)(
            Stream, ReduceConfig(1, n), View(rowLoss), View(loss), a);
        Release(rowLoss);
        Release(holder);
        return (loss, lp);
    }

    /// <inheritdoc/>
    public Tensor CrossEntropyBackward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss)
    {
        CrossEntropyChecks.Backward(logProbs, targets);
        // The kernel reads gradLoss[0] and indexes rows by target: check what it trusts (the CPU reads these on the host).
        if (gradLoss.Numel != 1) throw new ArgumentException($"cross_entropy backward: the loss gradient must have one element, got {Tensor.Fmt(gradLoss.Shape)}");
        int n = logProbs.Shape[0], k = logProbs.Shape[1];
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)k)
                throw new ArgumentOutOfRangeException(nameof(targets), $"cross_entropy backward: target {targets[i]} at row {i} is outside [0, {k})");
        logProbs = logProbs.Contiguous();
        gradLoss = gradLoss.Contiguous();
        var dx = Empty(n, k);
        if (dx.Numel == 0) return dx;
        var a = new CrossEntropyArgs { N = n, K = k, Smoothing = labelSmoothing };
        var (holder, tv) = UploadInts(targets);
        Kernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, CrossEntropyArgs>(CrossEntropyGpuKernels.Backward)(
            Stream, dx.Numel, View(logProbs), tv, View(gradLoss), View(dx), a);
        Release(holder);
        return dx;
    }
}
