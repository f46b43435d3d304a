using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>
/// Sizes and options of one batch-norm call: x viewed as (N, C, S) with S the product of the spatial dims.
/// Flags are ints (1 = on) so the struct is a plain kernel argument.
/// </summary>
internal struct BatchNormArgs
{
    public int N, C, S;
    public float Eps, Momentum;
    public int HasWeight, HasBias, HasRunningMean, HasRunningVar;
    /// <summary>Forward: apply ReLU. Backward: mask dy by the ReLU output (dy·[y &gt; 0]).</summary>
    public int Relu;
    /// <summary>Backward: the statistics were the batch's own (training), so dx has the mean/variance terms.</summary>
    public int BatchStats;
    public int NeedWeight, NeedBias;
    /// <summary>Backward: whether Σdy and Σdy·(x − μ) are needed at all (not for an eval-mode dx alone).</summary>
    public int Reduce;

    /// <summary>The flat index of element i (over the N·S elements) of channel ch.</summary>
    public readonly int At(int ch, int i)
    {
        int n = i / S;
        return (n * C + ch) * S + (i - n * S);
    }
}

/// <summary>
/// Batch-norm kernels. Statistics: one group per channel, two passes (mean, then Σ(x − μ)²), each a per-thread sum over
/// a strided share followed by a group tree, accumulated in double as <see cref="BatchNormMath"/> wants (a channel sums
/// N·H·W values); the per-channel epilogue is BatchNormMath's, as on the CPU. The per-element passes are plain 1-D
/// kernels reading per-channel float coefficients (scale/shift forward, k/c1/c0 backward) that the statistics kernels
/// write.
/// </summary>
internal static class BatchNormGpuKernels
{
    /// <summary>
    /// Group per channel: batch mean and 1/√(var + eps) into <paramref name="mean"/> and <paramref name="invStd"/>,
    /// the affine scale/shift into <paramref name="scaleShift"/> (2C: scale then shift), and the running statistics
    /// updated in place (unbiased variance).
    /// </summary>
    public static void TrainStats(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> runningMean, ArrayView<float> runningVar, ArrayView<float> mean, ArrayView<float> invStd,
        ArrayView<float> scaleShift, BatchNormArgs a)
    {
        var scratch = SharedMemory.Allocate<double>(GroupSums.MaxGroup);
        int ch = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int m = a.N * a.S;
        double s = 0;
        for (int i = t; i < m; i += step) s += x[a.At(ch, i)];
        double mu = GroupSums.Sum(scratch, s) / m;
        double q = 0;
        for (int i = t; i < m; i += step)
        {
            double d = x[a.At(ch, i)] - mu;
            q += d * d;
        }
        double var = GroupSums.Sum(scratch, q) / m;
        if (t != 0) return;
        double istd = BatchNormMath.InvStd(var, a.Eps);
        mean[ch] = (float)mu;
        invStd[ch] = (float)istd;
        // Folded from the saved (float) statistics, so that SavedCoefficients + Apply reproduce this output bit for bit.
        Fold(ch, weight, bias, mean[ch], invStd[ch], scaleShift, a);
        if (a.HasRunningMean != 0) runningMean[ch] = BatchNormMath.RunningAverage(runningMean[ch], a.Momentum, mu);
        if (a.HasRunningVar != 0) runningVar[ch] = BatchNormMath.RunningAverage(runningVar[ch], a.Momentum, BatchNormMath.Unbiased(var, m));
    }

    /// <summary>Per channel (eval mode): scale = w/√(var + eps), shift = b − mean·scale.</summary>
    public static void EvalCoefficients(Index1D ch, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> scaleShift, BatchNormArgs a)
    {
        Fold(ch, weight, bias, mean[ch], BatchNormMath.InvStd(variance[ch], a.Eps), scaleShift, a);
    }

    /// <summary>Per channel, from a training forward's saved statistics: scale = w·σ⁻¹, shift = b − mean·scale.</summary>
    public static void SavedCoefficients(Index1D ch, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> scaleShift, BatchNormArgs a)
    {
        Fold(ch, weight, bias, mean[ch], invStd[ch], scaleShift, a);
    }

    // Channel ch's scale and shift (BatchNormMath.FoldAffine with the optional affine parameters) into scaleShift.
    private static void Fold(int ch, ArrayView<float> weight, ArrayView<float> bias, double mean, double invStd,
        ArrayView<float> scaleShift, BatchNormArgs a)
    {
        var (scale, shift) = BatchNormMath.FoldAffine(a.HasWeight != 0 ? weight[ch] : 1.0, a.HasBias != 0 ? bias[ch] : 0.0, mean, invStd);
        scaleShift[ch] = scale;
        scaleShift[a.C + ch] = shift;
    }

    /// <summary>Per element: y = x·scale + shift, then max(·, 0) when fused with ReLU (NaN passes through, as on the CPU).</summary>
    public static void Apply(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> scaleShift, BatchNormArgs a)
    {
        int ch = i / a.S % a.C;
        float v = x[i] * scaleShift[ch] + scaleShift[a.C + ch];
        if (a.Relu != 0 && v < 0f) v = 0f;
        y[i] = v;
    }

    private static float Grad(ArrayView<float> dy, ArrayView<float> reluOut, int at, int relu) =>
        relu == 0 || reluOut[at] > 0f ? dy[at] : 0f;

    /// <summary>
    /// Group per channel: Σg and Σg·(x − μ) with g the (ReLU-masked) gradient; writes dbias = Σg, dweight = Σg·(x − μ)·σ⁻¹,
    /// and the coefficients of dx = k·g + c1·x + c0 into <paramref name="coef"/> (3C: k, c1, c0).
    /// </summary>
    public static void BackwardStats(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> reluOut, ArrayView<float> weight,
        ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> dWeight, ArrayView<float> dBias, ArrayView<float> coef,
        BatchNormArgs a)
    {
        var scratchA = SharedMemory.Allocate<double>(GroupSums.MaxGroup);
        var scratchB = SharedMemory.Allocate<double>(GroupSums.MaxGroup);
        int ch = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int m = a.N * a.S;
        float mu = mean[ch], istd = invStd[ch];
        var acc = new DoublePair();
        if (a.Reduce != 0)
            for (int i = t; i < m; i += step)
            {
                int at = a.At(ch, i);
                float g = Grad(dy, reluOut, at, a.Relu);
                acc.A += g;
                acc.B += g * (x[at] - mu);
            }
        var sum = GroupSums.Sum(scratchA, scratchB, acc);
        if (t != 0) return;
        if (a.NeedBias != 0) dBias[ch] = (float)sum.A;
        if (a.NeedWeight != 0) dWeight[ch] = (float)(sum.B * istd);
        var (k, c1, c0) = BatchNormMath.InputGradCoefficients(a.HasWeight != 0 ? weight[ch] : 1.0, istd, mu, sum.A, sum.B, m, a.BatchStats != 0);
        coef[ch] = (float)k;
        coef[a.C + ch] = (float)c1;
        coef[2 * a.C + ch] = (float)c0;
    }

    /// <summary>Per element: dx = k·g + c1·x + c0 with the coefficients of <see cref="BackwardStats"/>.</summary>
    public static void BackwardInput(Index1D i, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> reluOut,
        ArrayView<float> coef, ArrayView<float> dx, BatchNormArgs a)
    {
        int ch = i / a.S % a.C;
        float g = Grad(dy, reluOut, i, a.Relu);
        dx[i] = coef[ch] * g + coef[a.C + ch] * x[i] + coef[2 * a.C + ch];
    }
}
