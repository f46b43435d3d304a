namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor SoftmaxForward(Tensor x, int dim, bool log) => throw NotImplemented(nameof(SoftmaxForward));

    /// <inheritdoc/>
    public Tensor SoftmaxBackward(Tensor y, Tensor dy, int dim, bool log) => throw NotImplemented(nameof(SoftmaxBackward));
}
