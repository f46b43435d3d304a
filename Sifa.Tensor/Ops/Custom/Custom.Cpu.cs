namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void RunCustom(CustomOp op, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs) =>
        op.RunCpu(new CpuKernelArgs(inputs, outputs));
}
