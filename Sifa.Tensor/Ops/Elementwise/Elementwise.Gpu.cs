using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public Tensor Map<TOp>(Tensor x, TOp op, Tensor? dst = null) where TOp : struct, IUnaryOp => throw NotImplemented(nameof(Map));

    /// <inheritdoc/>
    public Tensor Zip<TOp>(Tensor a, Tensor b, TOp op, Tensor? dst = null) where TOp : struct, IBinaryOp => throw NotImplemented(nameof(Zip));
}
