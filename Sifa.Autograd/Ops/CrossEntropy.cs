using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels and shape checks: Sifa.Tensor/Ops/CrossEntropy/.
public static partial class Ops
{
    /// <summary>
    /// Cross-entropy with label smoothing ε, averaged over the batch (<see cref="IBackend.CrossEntropyForward"/>).
    /// Backward: <see cref="IBackend.CrossEntropyBackward"/>.
    /// </summary>
    /// <param name="logits">Logits (N, K).</param>
    /// <param name="targets">N class indices in [0, K).</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <returns>The 0-d loss.</returns>
    public static Variable CrossEntropy(Variable logits, int[] targets, float labelSmoothing = 0f)
    {
        var backend = logits.Data.Backend;
        var (loss, logProbs) = backend.CrossEntropyForward(logits.Data, targets, labelSmoothing); // checks shapes and targets
        var t = (int[])targets.Clone();
        return Variable.FromOp(loss, "cross_entropy", new[] { logits }, g => new[] { backend.CrossEntropyBackward(logProbs, t, labelSmoothing, g) });
    }
}
