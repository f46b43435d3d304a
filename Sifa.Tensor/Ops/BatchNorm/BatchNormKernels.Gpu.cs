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
/// Batch-norm kernels. Statistics: one group per channel, two passes (mean, then Σ(x − μ)²), each a per-thread float
/// sum over a strided share followed by a group tree (<see cref="GroupSums"/>). The CPU accumulates in double; the
/// two-level float sum keeps the error of each partial at share-length·ε (a few hundred elements), well inside 1e-5
/// relative for the statistics, and double is slow on most GPUs. The per-element passes are plain 1-D kernels reading
/// per-channel coefficients (scale/shift forward, k/c1/c0 backward) written by the statistics kernels.
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
        var scratch = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int ch = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int m = a.N * a.S;
        float s = 0;
        for (int i = t; i < m; i += step) s += x[a.At(ch, i)];
        float mu = GroupSums.Sum(scratch, s) / m;
        float q = 0;
        for (int i = t; i < m; i += step)
        {
            float d = x[a.At(ch, i)] - mu;
            q += d * d;
        }
        float var = GroupSums.Sum(scratch, q) / m;
        if (t != 0) return;
        float istd = 1f / MathF.Sqrt(var + a.Eps);
        mean[ch] = mu;
        invStd[ch] = istd;
        float w = a.HasWeight != 0 ? weight[ch] : 1f;
        float b = a.HasBias != 0 ? bias[ch] : 0f;
        scaleShift[ch] = w * istd;
        scaleShift[a.C + ch] = b - mu * w * istd;
        if (a.HasRunningMean != 0) runningMean[ch] = (1 - a.Momentum) * runningMean[ch] + a.Momentum * mu;
        if (a.HasRunningVar != 0)
        {
            float unbiased = m > 1 ? var * m / (m - 1) : var;
            runningVar[ch] = (1 - a.Momentum) * runningVar[ch] + a.Momentum * unbiased;
        }
    }

    /// <summary>Per channel (eval mode): scale = w/√(var + eps), shift = b − mean·scale.</summary>
    public static void EvalCoefficients(Index1D ch, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> scaleShift, BatchNormArgs a)
    {
        float istd = 1f / MathF.Sqrt(variance[ch] + a.Eps);
        float w = a.HasWeight != 0 ? weight[ch] : 1f;
        float b = a.HasBias != 0 ? bias[ch] : 0f;
        scaleShift[ch] = w * istd;
        scaleShift[a.C + ch] = b - mean[ch] * w * istd;
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
        var scratchA = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        var scratchB = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int ch = Grid.IdxX, t = Group.IdxX, step = Group.DimX;
        int m = a.N * a.S;
        float mu = mean[ch], istd = invStd[ch];
        var acc = new FloatPair();
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
        if (a.NeedBias != 0) dBias[ch] = sum.A;
        if (a.NeedWeight != 0) dWeight[ch] = sum.B * istd;
        float k = (a.HasWeight != 0 ? weight[ch] : 1f) * istd;
        float c1 = 0f, c0 = 0f;
        if (a.BatchStats != 0)
        {
            // dx = k·(g − Σg/m − (x − μ)·Σg(x − μ)·σ⁻²/m) = k·g + c1·x + c0
            float bcoef = sum.B * istd * istd / m;
            c1 = -k * bcoef;
            c0 = k * (bcoef * mu - sum.A / m);
        }
        coef[ch] = k;
        coef[a.C + ch] = c1;
        coef[2 * a.C + ch] = c0;
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
