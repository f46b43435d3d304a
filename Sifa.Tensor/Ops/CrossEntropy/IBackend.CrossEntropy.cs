namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// Mean cross-entropy with label smoothing ε over logits (N, K), p = softmax(logits):
    /// mean over n of −(1−ε)·log p[n, t_n] − ε/K·Σ_k log p[n, k]. The batch must not be empty.
    /// </summary>
    /// <param name="logits">Logits (N, K).</param>
    /// <param name="targets">N class indices in [0, K).</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <returns>The 0-d loss and the saved log-probabilities (N, K).</returns>
    (Tensor Loss, Tensor LogProbs) CrossEntropyForward(Tensor logits, int[] targets, float labelSmoothing);

    /// <summary>Gradient of the cross-entropy: dlogits = g/N·(softmax − (1−ε)·onehot(t) − ε/K).</summary>
    /// <param name="logProbs">The saved log-probabilities (N, K).</param>
    /// <param name="targets">The targets.</param>
    /// <param name="labelSmoothing">ε.</param>
    /// <param name="gradLoss">The 0-d (or one-element) gradient of the loss.</param>
    /// <returns>dlogits (N, K).</returns>
    Tensor CrossEntropyBackward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss);
}

/// <summary>The shape and target rules of the cross-entropy, checked here once for every backend (its kernels trust them).</summary>
internal static class CrossEntropyChecks
{
    /// <summary>Checks a forward: logits (N, K) with N ≥ 1, N targets in [0, K), ε in [0, 1].</summary>
    public static void Forward(Tensor logits, int[] targets, float labelSmoothing)
    {
        if (logits.Rank != 2) throw new ArgumentException($"cross_entropy: logits must be (N, K), got {Tensor.Fmt(logits.Shape)}");
        int n = logits.Shape[0], k = logits.Shape[1];
        if (targets.Length != n) throw new ArgumentException($"cross_entropy: {targets.Length} targets for a batch of {n} logits rows");
        if (n == 0) throw new ArgumentException("cross_entropy: empty batch");
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"label smoothing {labelSmoothing} is outside [0, 1]");
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)k)
                throw new ArgumentOutOfRangeException(nameof(targets), $"cross_entropy: target {targets[i]} at row {i} is outside [0, {k})");
    }

    /// <summary>Checks a backward: one target per row of the saved log-probabilities.</summary>
    public static void Backward(Tensor logProbs, int[] targets)
    {
        if (logProbs.Rank != 2 || targets.Length != logProbs.Shape[0])
            throw new ArgumentException($"cross_entropy backward: log-probabilities {Tensor.Fmt(logProbs.Shape)} do not match {targets.Length} targets");
    }
}
