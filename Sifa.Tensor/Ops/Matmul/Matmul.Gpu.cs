namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor Matmul(Tensor a, Tensor b) => throw NotImplemented(nameof(Matmul));
}
