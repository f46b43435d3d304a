namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// Batch normalisation with batch statistics over every dim but 1 (x is (N, C, ...)): y = (x − μ)·σ⁻¹·w + b with the
    /// biased variance. When given, the running statistics are updated in place:
    /// running = (1 − momentum)·running + momentum·stat, with the unbiased variance for <paramref name="runningVar"/>.
    /// Statistics are accumulated in double. Training needs more than one value per channel.
    /// </summary>
    /// <param name="x">Input (N, C, ...).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="runningMean">Optional running mean (C), updated in place.</param>
    /// <param name="runningVar">Optional running variance (C), updated in place.</param>
    /// <param name="momentum">Running-average factor.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="relu">Apply max(·, 0) to the output in the same pass (batch norm + ReLU fused).</param>
    /// <returns>The output, and the saved batch mean and inverse standard deviation 1/√(var + eps), each (C).</returns>
    (Tensor Output, Tensor Mean, Tensor InvStd) BatchNormTrainForward(Tensor x, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu = false);

    /// <summary>Batch normalisation with fixed statistics: y = (x − mean)/√(var + eps)·w + b, per channel (dim 1).</summary>
    /// <param name="x">Input (N, C, ...).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="mean">The mean to use (C).</param>
    /// <param name="variance">The variance to use (C).</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="relu">Apply max(·, 0) to the output in the same pass.</param>
    /// <returns>The output.</returns>
    Tensor BatchNormEvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu = false);

    /// <summary>
    /// Batch normalisation with the statistics a training forward saved: y = (x − mean)·invStd·w + b per channel (dim 1),
    /// then max(·, 0) when <paramref name="relu"/>. Bit-identical to the output of the <see cref="BatchNormTrainForward"/>
    /// call that returned <paramref name="mean"/> and <paramref name="invStd"/> (both fold them into one scale and shift
    /// per channel the same way), so a backward pass can recompute that output instead of keeping it.
    /// </summary>
    /// <param name="x">Input (N, C, ...), the one the training forward normalised.</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="mean">The saved batch mean (C).</param>
    /// <param name="invStd">The saved 1/√(var + eps) (C).</param>
    /// <param name="relu">Apply max(·, 0) to the output in the same pass.</param>
    /// <returns>The output.</returns>
    Tensor BatchNormApply(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invStd, bool relu = false);

    /// <summary>
    /// Gradients of batch normalisation, per channel over its m = N·(H·W·…) values with x̂ = (x − μ)·σ⁻¹:
    /// with <paramref name="batchStats"/> (training) the mean and variance depend on x and
    /// dx = w·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)); without (eval) dx = w·σ⁻¹·dy. dweight = Σ dy·x̂, dbias = Σ dy.
    /// Kernels take dx's coefficients from <see cref="BatchNormMath.InputGradCoefficients"/>.
    /// </summary>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="x">The forward input.</param>
    /// <param name="weight">The forward scale, or null.</param>
    /// <param name="mean">The mean used in the forward (C).</param>
    /// <param name="invStd">The inverse standard deviation used in the forward (C).</param>
    /// <param name="batchStats">Whether the statistics were the batch's own (training mode).</param>
    /// <param name="needInput">Compute dx.</param>
    /// <param name="needWeight">Compute dweight.</param>
    /// <param name="needBias">Compute dbias.</param>
    /// <param name="reluOutput">For a fused batch norm + ReLU: its output y; dy is first masked to dy·[y &gt; 0].</param>
    /// <returns>dx, dweight, dbias (null where not requested).</returns>
    (Tensor? Input, Tensor? Weight, Tensor? Bias) BatchNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput = null);
}

/// <summary>The shape rules of batch normalisation, checked here once for every backend (its kernels trust them).</summary>
internal static class BatchNormChecks
{
    /// <summary>Checks a training forward; returns N, C and S (the product of the dims after C).</summary>
    public static (int N, int C, int S) TrainForward(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar)
    {
        var (n, c, s) = Forward(x, weight, bias, runningMean, runningVar);
        const string op = "batch_norm";
        if ((long)n * s == 0) throw new ArgumentException($"{op}: empty input {Tensor.Fmt(x.Shape)}");
        if (x.Numel / Math.Max(1, c) <= 1)
            throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input {Tensor.Fmt(x.Shape)}");
        return (n, c, s);
    }

    /// <summary>Checks an eval forward; returns N, C and S.</summary>
    public static (int N, int C, int S) EvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance) =>
        Forward(x, weight, bias, mean, variance);

    /// <summary>Checks an apply with saved statistics; returns N, C and S.</summary>
    public static (int N, int C, int S) Apply(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invStd) =>
        Forward(x, weight, bias, mean, invStd, "batch_norm apply", "mean", "invstd");

    // The rules every forward shares: x is (N, C, ...) and every given per-channel vector is (C).
    private static (int N, int C, int S) Forward(Tensor x, Tensor? weight, Tensor? bias, Tensor? mean, Tensor? second,
        string op = "batch_norm", string meanName = "running_mean", string secondName = "running_var")
    {
        var (n, c, s) = Dims(x, op);
        Param(weight, c, "weight", op);
        Param(bias, c, "bias", op);
        Param(mean, c, meanName, op);
        Param(second, c, secondName, op);
        return (n, c, s);
    }

    /// <summary>Checks a backward; returns N, C and S.</summary>
    public static (int N, int C, int S) Backward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd, Tensor? reluOutput)
    {
        const string op = "batch_norm backward";
        var (n, c, s) = Dims(x, op);
        if (!dy.Shape.AsSpan().SequenceEqual(x.Shape))
            throw new ArgumentException($"{op}: gradient {Tensor.Fmt(dy.Shape)} differs from the input {Tensor.Fmt(x.Shape)}");
        Param(weight, c, "weight", op);
        Param(mean, c, "mean", op);
        Param(invStd, c, "invstd", op);
        if (reluOutput != null && !reluOutput.Shape.AsSpan().SequenceEqual(x.Shape))
            throw new ArgumentException($"{op}: ReLU output {Tensor.Fmt(reluOutput.Shape)} differs from the input {Tensor.Fmt(x.Shape)}");
        return (n, c, s);
    }

    private static (int N, int C, int S) Dims(Tensor x, string op)
    {
        if (x.Rank < 2) throw new ArgumentException($"{op}: input must be (N, C, ...), got {Tensor.Fmt(x.Shape)}");
        int s = 1;
        for (int d = 2; d < x.Rank; d++) s *= x.Shape[d];
        return (x.Shape[0], x.Shape[1], s);
    }

    private static void Param(Tensor? t, int c, string what, string op)
    {
        if (t != null && (t.Rank != 1 || t.Shape[0] != c)) throw new ArgumentException($"{op}: {what} {Tensor.Fmt(t.Shape)} must be ({c})");
    }
}
