using Sifa.Tensors;

namespace Sifa.Models;

// The SIFA op and the deformable gather as custom ops: one class per kernel pair (CPU now; the GPU kernels go in
// *.Gpu.cs beside the CPU ones). Shapes were checked once, in SifaShape.Of / DeformGatherShape.Of.

internal sealed class SifaForwardOp(SifaShape shape) : CustomOp
{
    public override string Name => "sifa";

    // inputs x, offsets; outputs y, saved weights
    protected override void RunCpu(CpuKernelArgs a) =>
        SifaKernels.Forward(a.Input(0), a.Input(1), a.Output(0), a.Output(1), shape);
}

internal sealed class SifaBackwardOp(SifaShape shape) : CustomOp
{
    public override string Name => "sifa_backward";

    // inputs dy, x, offsets, weights; outputs dx, dOffsets
    protected override void RunCpu(CpuKernelArgs a) =>
        SifaKernels.Backward(a.Input(0), a.Input(1), a.Input(2), a.Input(3), a.Output(0), a.Output(1), shape);
}

internal sealed class DeformGatherForwardOp(DeformGatherShape g) : CustomOp
{
    public override string Name => "deform_gather";

    protected override void RunCpu(CpuKernelArgs a) =>
        DeformGatherKernels.Forward(a.Input(0), a.Input(1), a.Output(0), g.B, g.C, g.H, g.W, g.K, g.Dilation);
}

internal sealed class DeformGatherBackwardOp(DeformGatherShape g) : CustomOp
{
    public override string Name => "deform_gather_backward";

    protected override void RunCpu(CpuKernelArgs a) =>
        DeformGatherKernels.Backward(a.Input(0), a.Input(1), a.Input(2), a.Output(0), a.Output(1), g.B, g.C, g.H, g.W, g.K, g.Dilation);
}
