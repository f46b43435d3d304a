namespace Sifa.Tensors.Gpu;

// IBackend methods the GPU backend does not have yet: each throws NotSupportedException (no silent CPU fallback).
// When an op gets its GPU kernels in Ops/<Op>/<Op>.Gpu.cs, delete its block here.
public sealed partial class GpuBackend
{
    // ---- Custom ops (a GpuKernelArgs over this backend is still to be written)
    /// <inheritdoc/>
    public void RunCustom(CustomOp op, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs) =>
        throw NotImplemented(nameof(RunCustom));
}
