using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels and window checks: Sifa.Tensor/Ops/MaxPool2d/.
public static partial class Ops
{
    /// <summary>
    /// 2-D max pooling over (N, C, H, W); padding counts as −∞. Backward sends each output gradient to its window's
    /// first maximum in row-major window order (saved argmax indices).
    /// </summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Padding (at most kernel/2).</param>
    /// <returns>The pooled value.</returns>
    public static Variable MaxPool2d(Variable x, int kernel, int stride, int padding = 0)
    {
        var geo = new Pool2dGeometry(kernel, kernel, stride, stride, padding, padding);
        var backend = x.Data.Backend;
        var (y, idx) = backend.MaxPool2dForward(x.Data, geo);
        var shape = x.Shape;
        return Variable.FromOp(y, "max_pool2d", new[] { x }, g => new[] { backend.MaxPool2dBackward(g, idx, shape) });
    }
}
