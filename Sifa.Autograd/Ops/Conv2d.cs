using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels and shape checks: Sifa.Tensor/Ops/Conv2d/.
public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation) over NCHW with zero padding, stride, dilation and groups — PyTorch's conv2d.
    /// Backward: <see cref="IBackend.Conv2dBackward"/>.
    /// </summary>
    /// <param name="x">Input (N, Cin, H, W).</param>
    /// <param name="weight">Weight (Cout, Cin/groups, kh, kw).</param>
    /// <param name="bias">Optional bias (Cout).</param>
    /// <param name="stride">Stride on both axes.</param>
    /// <param name="padding">Zero padding on both axes.</param>
    /// <param name="dilation">Dilation on both axes.</param>
    /// <param name="groups">Channel groups.</param>
    /// <returns>The output (N, Cout, Ho, Wo).</returns>
    public static Variable Conv2d(Variable x, Variable weight, Variable? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(x, weight, bias, Conv2dGeometry.Square(stride, padding, dilation, groups));

    /// <summary>2-D convolution with a per-axis geometry (see the other overload).</summary>
    /// <param name="x">Input (N, Cin, H, W).</param>
    /// <param name="weight">Weight (Cout, Cin/groups, kh, kw).</param>
    /// <param name="bias">Optional bias (Cout).</param>
    /// <param name="geometry">Stride, padding, dilation per axis and groups.</param>
    /// <returns>The output (N, Cout, Ho, Wo).</returns>
    public static Variable Conv2d(Variable x, Variable weight, Variable? bias, Conv2dGeometry geometry)
    {
        Tensor xv = x.Data, wv = weight.Data;
        var backend = xv.Backend;
        var y = backend.Conv2dForward(xv, wv, bias?.Data, geometry); // checks the shapes (Conv2dGeometry.Validate)
        CountConvFlops(y, wv);
        var inputs = bias == null ? new[] { x, weight } : new[] { x, weight, bias };
        return Variable.FromOp(y, "conv2d", inputs, g =>
        {
            var (dx, dw, db) = backend.Conv2dBackward(g, xv, wv, geometry, x.RequiresGrad, weight.RequiresGrad, bias?.RequiresGrad ?? false);
            return new[] { dx, dw, db };
        });
    }

    // Each output of a convolution costs Cin/groups·kh·kw multiply-adds.
    private static void CountConvFlops(Tensor y, Tensor weight) => FlopCounter.Add((long)y.Numel * (weight.Numel / weight.Shape[0]));
}
