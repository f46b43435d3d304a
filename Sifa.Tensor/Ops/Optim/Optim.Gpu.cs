using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Fused optimizer steps and gradient-norm helpers on the GPU (OptimGpuKernels).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        args.Validate(param, grad, momentumBuffer);
        if (param.Numel == 0) return;
        var pv = View(param);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdGpuArgs>(OptimGpuKernels.Sgd)(
            Stream, param.Numel, pv, View(grad), ViewOr(momentumBuffer, pv), new SgdGpuArgs(args));
    }

    /// <inheritdoc/>
    public void AdamWStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamWStepArgs args)
    {
        args.Validate(param, grad, expAvg, expAvgSq);
        if (param.Numel == 0) return;
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWGpuArgs>(OptimGpuKernels.AdamW)(
            Stream, param.Numel, View(param), View(grad), View(expAvg), View(expAvgSq), new AdamWGpuArgs(args));
    }

    /// <inheritdoc/>
    public double SumOfSquares(IReadOnlyList<Tensor> tensors)
    {
        OptimChecks.Dense("SumOfSquares", tensors, Device);
        int blocks = 0;
        foreach (var t in tensors) blocks += (t.Numel + OptimGpuKernels.Block - 1) / OptimGpuKernels.Block;
        if (blocks == 0) return 0;
        // Doubles live in float buffers (the caching allocator holds floats): two floats per double.
        var partials = Empty(2 * blocks);
        var total = Empty(2);
        var pv = View(partials).Cast<double>();
        int group = GroupSums.GroupSize(MaxGroupSize, Accelerator.WarpSize, OptimGpuKernels.Block);
        int first = 0;
        foreach (var t in tensors)
        {
            int n = (t.Numel + OptimGpuKernels.Block - 1) / OptimGpuKernels.Block;
            if (n == 0) continue;
            GroupedKernel<ArrayView<float>, ArrayView<double>, int>(OptimGpuKernels.BlockSumOfSquares)(
                Stream, new KernelConfig(n, group), View(t), pv, first);
            first += n;
        }
        GroupedKernel<ArrayView<double>, ArrayView<double>>(OptimGpuKernels.SumPartials)(
            Stream, ReduceConfig(1, blocks), pv, View(total).Cast<double>());
        var host = new float[2];
        CopyToHost(total, host);
        partials.Storage.Release();
        total.Storage.Release();
        return MemoryMarshal.Cast<float, double>(host)[0];
    }

    /// <inheritdoc/>
    public void ScaleInPlace(IReadOnlyList<Tensor> tensors, float factor)
    {
        OptimChecks.Dense("ScaleInPlace", tensors, Device);
        foreach (var t in tensors)
            if (t.Numel > 0)
                Kernel<Index1D, ArrayView<float>, float>(OptimGpuKernels.Scale)(Stream, t.Numel, View(t), factor);
    }
}
