using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>y = op(x), element-wise, written into <paramref name="dst"/> (dense, x's shape; may be x itself) or a new dense tensor.</summary>
    /// <typeparam name="TOp">The op struct.</typeparam>
    /// <param name="x">Input (any layout).</param>
    /// <param name="op">The op.</param>
    /// <param name="dst">Optional destination.</param>
    /// <returns>The result.</returns>
    Tensor Map<TOp>(Tensor x, TOp op, Tensor? dst = null) where TOp : struct, IUnaryOp;

    /// <summary>y = op(a, b) with broadcasting, written into <paramref name="dst"/> (may alias a dense input) or a new tensor.</summary>
    /// <typeparam name="TOp">The op struct.</typeparam>
    /// <param name="a">First input.</param>
    /// <param name="b">Second input.</param>
    /// <param name="op">The op.</param>
    /// <param name="dst">Optional dense destination of the broadcast shape.</param>
    /// <returns>The result.</returns>
    Tensor Zip<TOp>(Tensor a, Tensor b, TOp op, Tensor? dst = null) where TOp : struct, IBinaryOp;
}
