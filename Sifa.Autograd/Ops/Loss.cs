using Sifa.Tensors;

namespace Sifa.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Cross-entropy with label smoothing ε, averaged over the batch: mean_n of −(1−ε)·log p[n, t_n] − ε/K·Σ_k log p[n, k],
    /// with p = softmax(logits). Backward: dlogits = g/N·(p − (1−ε)·onehot − ε/K).
    /// </summary>
    /// <param name="logits">Logits (N, K).</param>
    /// <param name="targets">N class indices in [0, K).</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <returns>The 0-d loss.</returns>
    public static Variable CrossEntropy(Variable logits, int[] targets, float labelSmoothing = 0f)
    {
        if (logits.Rank != 2) throw new ArgumentException($"cross_entropy: logits must be (N, K), got {Tensor.Fmt(logits.Shape)}");
        int n = logits.Shape[0], k = logits.Shape[1];
        if (targets.Length != n) throw new ArgumentException($"cross_entropy: {targets.Length} targets for a batch of {n} logits rows");
        if (n == 0) throw new ArgumentException("cross_entropy: empty batch");
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"label smoothing {labelSmoothing} is outside [0, 1]");
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)k)
                throw new ArgumentOutOfRangeException(nameof(targets), $"cross_entropy: target {targets[i]} at row {i} is outside [0, {k})");
        var backend = logits.Data.Backend;
        var (loss, logProbs) = backend.CrossEntropyForward(logits.Data, targets, labelSmoothing);
        var t = (int[])targets.Clone();
        return Variable.FromOp(loss, "cross_entropy", new[] { logits }, g => new[] { backend.CrossEntropyBackward(logProbs, t, labelSmoothing, g) });
    }
}
