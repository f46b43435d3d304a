using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels, shape checks and per-row maths: Sifa.Tensor/Ops/LayerNorm/.
public static partial class Ops
{
    /// <summary>
    /// Layer normalisation over the last dim (biased variance): y = (x − μ)/√(σ² + eps)·w + b.
    /// Backward: <see cref="IBackend.LayerNormBackward"/>.
    /// </summary>
    /// <param name="x">Input (..., D).</param>
    /// <param name="weight">Optional scale (D).</param>
    /// <param name="bias">Optional shift (D).</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>The normalised value.</returns>
    public static Variable LayerNorm(Variable x, Variable? weight, Variable? bias, float eps = 1e-5f)
    {
        Tensor xv = x.Data;
        Tensor? wv = weight?.Data;
        var backend = xv.Backend;
        var (y, mean, invStd) = backend.LayerNormForward(xv, wv, bias?.Data, eps);
        return Variable.FromOp(y, "layer_norm", Inputs(x, weight, bias), g =>
        {
            var (dx, dw, db) = backend.LayerNormBackward(g, xv, wv, mean, invStd,
                x.RequiresGrad, weight?.RequiresGrad ?? false, bias?.RequiresGrad ?? false);
            return Grads(weight, bias, dx, dw, db);
        });
    }
}
