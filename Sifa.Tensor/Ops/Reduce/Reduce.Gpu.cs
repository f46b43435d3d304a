namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor Reduce(Tensor x, int[] dims, bool keepDim, ReduceKind kind) => throw NotImplemented(nameof(Reduce));

    /// <inheritdoc/>
    public Tensor ArgMax(Tensor x, int dim, bool keepDim) => throw NotImplemented(nameof(ArgMax));
}
