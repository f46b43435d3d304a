using ILGPU;
using ILGPU.Runtime;
using Sifa.Tensors;

namespace Sifa.Models;

// The SIFA op and the deformable gather as custom ops: one class per direction, each naming its CPU kernel
// (*.Cpu.cs) and its GPU kernel (*.Gpu.cs). Shapes were checked once, in SifaShape.Of / DeformGatherShape.Of.

internal sealed class SifaForwardOp(SifaShape shape) : CustomOp
{
    public override string Name => "sifa";

    // inputs x, offsets; outputs y, saved weights
    protected override void RunCpu(CpuKernelArgs a) =>
        SifaKernels.Forward(a.Input(0), a.Input(1), a.Output(0), a.Output(1), shape);

    protected override void RunGpu(GpuKernelArgs a)
    {
        if (shape.XLength == 0) return;
        var k = a.Kernel(SifaGpuKernels.Forward, acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, SifaGpuKernels.Args>(SifaGpuKernels.Forward));
        k(a.Stream, shape.NT * shape.HW, a.Input(0), a.Input(1), a.Output(0), a.Output(1), new SifaGpuKernels.Args(shape));
    }
}

internal sealed class SifaBackwardOp(SifaShape shape) : CustomOp
{
    public override string Name => "sifa_backward";

    // inputs dy, x, offsets, weights; outputs dx, dOffsets
    protected override void RunCpu(CpuKernelArgs a) =>
        SifaKernels.Backward(a.Input(0), a.Input(1), a.Input(2), a.Input(3), a.Output(0), a.Output(1), shape);

    protected override void RunGpu(GpuKernelArgs a)
    {
        if (shape.XLength == 0) return;
        var scores = a.Kernel(SifaGpuKernels.BackwardScores, acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SifaGpuKernels.Args>(SifaGpuKernels.BackwardScores));
        var inputs = a.Kernel(SifaGpuKernels.BackwardInputs, acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            SifaGpuKernels.Args>(SifaGpuKernels.BackwardInputs));
        var args = new SifaGpuKernels.Args(shape);
        var dScores = a.Temporary(checked((int)shape.WeightsLength));
        int n = shape.NT * shape.HW;
        scores(a.Stream, n, a.Input(0), a.Input(1), a.Input(2), a.Input(3), dScores, args);
        a.Output(0).MemSetToZero(a.Stream);
        inputs(a.Stream, n, a.Input(0), a.Input(1), a.Input(2), a.Input(3), dScores, a.Output(0), a.Output(1), args);
    }
}

internal sealed class DeformGatherForwardOp(DeformGatherShape g) : CustomOp
{
    public override string Name => "deform_gather";

    protected override void RunCpu(CpuKernelArgs a) =>
        DeformGatherKernels.Forward(a.Input(0), a.Input(1), a.Output(0), g.B, g.C, g.H, g.W, g.K, g.Dilation);

    protected override void RunGpu(GpuKernelArgs a)
    {
        int n = g.B * g.K * g.K * g.H * g.W;
        if (n == 0 || g.C == 0) return;
        var k = a.Kernel(DeformGatherGpuKernels.Forward, acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, SifaGpuKernels.Args>(DeformGatherGpuKernels.Forward));
        k(a.Stream, n, a.Input(0), a.Input(1), a.Output(0), DeformGatherGpuKernels.ArgsOf(g));
    }
}

internal sealed class DeformGatherBackwardOp(DeformGatherShape g) : CustomOp
{
    public override string Name => "deform_gather_backward";

    protected override void RunCpu(CpuKernelArgs a) =>
        DeformGatherKernels.Backward(a.Input(0), a.Input(1), a.Input(2), a.Output(0), a.Output(1), g.B, g.C, g.H, g.W, g.K, g.Dilation);

    protected override void RunGpu(GpuKernelArgs a)
    {
        int n = g.B * g.K * g.K * g.H * g.W;
        a.Output(0).MemSetToZero(a.Stream);
        if (n == 0) return;
        var k = a.Kernel(DeformGatherGpuKernels.Backward, acc => acc.LoadAutoGroupedKernel<Index1D, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SifaGpuKernels.Args>(DeformGatherGpuKernels.Backward));
        k(a.Stream, n, a.Input(0), a.Input(1), a.Input(2), a.Output(0), a.Output(1), DeformGatherGpuKernels.ArgsOf(g));
    }
}
