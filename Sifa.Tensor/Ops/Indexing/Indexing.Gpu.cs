namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor Concat(IReadOnlyList<Tensor> parts, int dim) => throw NotImplemented(nameof(Concat));

    /// <inheritdoc/>
    public Tensor Roll(Tensor x, int[] shifts, int[] dims) => throw NotImplemented(nameof(Roll));

    /// <inheritdoc/>
    public Tensor IndexSelect(Tensor x, int dim, int[] index) => throw NotImplemented(nameof(IndexSelect));

    /// <inheritdoc/>
    public void IndexAdd(Tensor dst, int dim, int[] index, Tensor src) => throw NotImplemented(nameof(IndexAdd));

    /// <inheritdoc/>
    public Tensor Gather(Tensor x, int dim, Tensor index) => throw NotImplemented(nameof(Gather));

    /// <inheritdoc/>
    public Tensor ScatterAdd(int[] shape, int dim, Tensor index, Tensor src) => throw NotImplemented(nameof(ScatterAdd));
}
