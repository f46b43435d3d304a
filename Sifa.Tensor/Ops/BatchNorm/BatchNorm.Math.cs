namespace Sifa.Tensors;

/// <summary>
/// The per-channel scalar maths of batch normalisation (see <see cref="IBackend.BatchNormTrainForward"/> and
/// <see cref="IBackend.BatchNormBackward"/> for the formulas), shared by the kernels of every backend. It is in double:
/// a channel's statistics sum N·H·W values (millions for video batches), whose float rounding would show in the
/// running statistics and the gradients.
/// </summary>
internal static class BatchNormMath
{
    /// <summary>σ⁻¹ = 1/√(var + eps).</summary>
    public static double InvStd(double variance, float eps) => 1.0 / Math.Sqrt(variance + eps);

    /// <summary>y = x·Scale + Shift folds the normalisation and the affine parameters: Scale = w·σ⁻¹, Shift = b − μ·w·σ⁻¹.</summary>
    public static (float Scale, float Shift) FoldAffine(double weight, double bias, double mean, double invStd) =>
        ((float)(weight * invStd), (float)(bias - mean * weight * invStd));

    /// <summary>running = (1 − momentum)·running + momentum·stat.</summary>
    public static float RunningAverage(float running, float momentum, double stat) => (float)((1 - momentum) * running + momentum * stat);

    /// <summary>The unbiased variance of m values from their biased one.</summary>
    public static double Unbiased(double variance, long m) => m > 1 ? variance * m / (m - 1) : variance;

    /// <summary>
    /// dx = Dy·dy + X·x + Shift for one channel, from Σ dy and Σ dy·(x − μ) over its m values: k = w·σ⁻¹, and with batch
    /// statistics dx = k·(dy − Σdy/m − (x − μ)·Σdy(x − μ)·σ⁻²/m); without, dx = k·dy.
    /// </summary>
    public static (double Dy, double X, double Shift) InputGradCoefficients(double weight, float invStd, float mean,
        double sumDy, double sumDyXmu, long m, bool batchStats)
    {
        double k = weight * invStd;
        double c1 = 0, c0 = 0;
        if (batchStats)
        {
            double bcoef = sumDyXmu * invStd * invStd / m;
            c1 = -k * bcoef;
            c0 = k * (bcoef * mean - sumDy / m);
        }
        return (k, c1, c0);
    }
}
