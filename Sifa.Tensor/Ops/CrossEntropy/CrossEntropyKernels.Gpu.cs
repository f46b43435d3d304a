using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>Sizes of one cross-entropy call: logits (N, K), label smoothing ε.</summary>
internal struct CrossEntropyArgs
{
    public int N, K;
    public float Smoothing;
}

/// <summary>
/// Cross-entropy kernels: one group per row computes the max-subtracted log-softmax and the row's loss
/// −(1−ε)·log p[t] − ε/K·Σ log p; a single group then averages the row losses (float tree; the CPU sums rows in double,
/// which differs by far less than 1e-5 relative at batch sizes). The gradient is a per-element kernel that reads the
/// incoming loss gradient on the device, so no value comes back to the host.
/// </summary>
internal static class CrossEntropyGpuKernels
{
    public static void RowForward(ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> logProbs,
        ArrayView<float> rowLoss, CrossEntropyArgs a)
    {
        var scratch = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int r = Grid.IdxX, t = Group.IdxX, step = Group.DimX, k = a.K;
        int row = r * k;
        float m = float.NegativeInfinity;
        for (int j = t; j < k; j += step) m = MathF.Max(m, logits[row + j]);
        m = GroupSums.Max(scratch, m);
        float s = 0;
        for (int j = t; j < k; j += step) s += MathF.Exp(logits[row + j] - m);
        float lse = m + MathF.Log(GroupSums.Sum(scratch, s));
        float sumLp = 0;
        for (int j = t; j < k; j += step)
        {
            float lp = logits[row + j] - lse;
            logProbs[row + j] = lp;
            sumLp += lp;
        }
        sumLp = GroupSums.Sum(scratch, sumLp);
        if (t != 0) return;
        float loss = -(1f - a.Smoothing) * (logits[row + targets[r]] - lse);
        if (a.Smoothing != 0f) loss -= a.Smoothing / k * sumLp;
        rowLoss[r] = loss;
    }

    /// <summary>One group: loss[0] = mean of the row losses.</summary>
    public static void MeanLoss(ArrayView<float> rowLoss, ArrayView<float> loss, CrossEntropyArgs a)
    {
        var scratch = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int t = Group.IdxX;
        float s = 0;
        for (int i = t; i < a.N; i += Group.DimX) s += rowLoss[i];
        s = GroupSums.Sum(scratch, s);
        if (t == 0) loss[0] = s / a.N;
    }

    /// <summary>Per element: dlogits = g/N·(exp(log p) − ε/K) − g/N·(1 − ε)·[k = t], g = gradLoss[0].</summary>
    public static void Backward(Index1D i, ArrayView<float> logProbs, ArrayView<int> targets, ArrayView<float> gradLoss,
        ArrayView<float> dx, CrossEntropyArgs a)
    {
        int n = i / a.K, k = i - n * a.K;
        float g = gradLoss[0] / Math.Max(1, a.N);
        float v = MathF.Exp(logProbs[i]) * g - g * a.Smoothing / a.K;
        if (k == targets[n]) v -= g * (1f - a.Smoothing);
        dx[i] = v;
    }
}
