using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels: Sifa.Tensor/Ops/Softmax/.
public static partial class Ops
{
    /// <summary>Softmax along a dim (max-subtracted). Backward: <see cref="IBackend.SoftmaxBackward"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension (negative from the end).</param>
    /// <returns>The probabilities.</returns>
    public static Variable Softmax(Variable x, int dim = -1) => SoftmaxCore(x, dim, log: false);

    /// <summary>Log-softmax along a dim: x − max − log Σ exp(x − max). Backward: <see cref="IBackend.SoftmaxBackward"/>.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension (negative from the end).</param>
    /// <returns>The log-probabilities.</returns>
    public static Variable LogSoftmax(Variable x, int dim = -1) => SoftmaxCore(x, dim, log: true);

    private static Variable SoftmaxCore(Variable x, int dim, bool log)
    {
        int d = x.Data.NormDim(dim);
        var backend = x.Data.Backend;
        var y = backend.SoftmaxForward(x.Data, d, log);
        return Variable.FromOp(y, log ? "log_softmax" : "softmax", new[] { x }, g => new[] { backend.SoftmaxBackward(y, g, d, log) });
    }
}
