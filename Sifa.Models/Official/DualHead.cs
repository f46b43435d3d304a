using Sifa.Autograd;

namespace Sifa.Models;

/// <summary>The arithmetic of the official SIFA-Net's two heads (train: CE + CE; test: the mean of the two softmaxes).</summary>
public static class DualHead
{
    /// <summary>CE(main) + CE(dual), the official training loss (<c>criterion(score[0]) + criterion(score[1])</c>).</summary>
    /// <param name="main">Logits of <c>fc</c>.</param>
    /// <param name="dual">Logits of <c>fc_dual</c>.</param>
    /// <param name="labels">Class indices.</param>
    /// <param name="labelSmoothing">Label smoothing ε.</param>
    /// <returns>The scalar loss.</returns>
    public static Variable Loss(Variable main, Variable dual, int[] labels, float labelSmoothing = 0f) =>
        Ops.CrossEntropy(main, labels, labelSmoothing) + Ops.CrossEntropy(dual, labels, labelSmoothing);

    /// <summary>
    /// log((softmax(a) + softmax(b)) / 2), computed stably: its softmax is exactly the mean of the two softmaxes (the
    /// official test score), so every consumer of logits (top-k, softmax, averaging over views) sees that prediction.
    /// </summary>
    /// <param name="a">Logits (N, K).</param>
    /// <param name="b">Logits (N, K).</param>
    /// <returns>Log of the averaged probabilities (N, K).</returns>
    public static Variable LogMeanSoftmax(Variable a, Variable b)
    {
        var la = Ops.LogSoftmax(a, -1);
        var lb = Ops.LogSoftmax(b, -1);
        var m = la + Ops.Relu(lb - la); // elementwise max(la, lb)
        return m + Ops.Log(Ops.Exp(la - m) + Ops.Exp(lb - m)) - MathF.Log(2f);
    }
}
