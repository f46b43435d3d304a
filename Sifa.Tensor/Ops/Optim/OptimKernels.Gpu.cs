using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>The SGD scalars as a kernel argument (ILGPU needs blittable arguments: ints for the bools).</summary>
internal readonly struct SgdGpuArgs(SgdStepArgs a)
{
    private readonly float _lr = a.Lr, _weightDecay = a.WeightDecay, _momentum = a.Momentum, _oneMinusDampening = a.OneMinusDampening;
    private readonly int _nesterov = a.Nesterov ? 1 : 0, _firstStep = a.FirstStep ? 1 : 0;

    public SgdStepArgs Args => new(_lr, _weightDecay, _momentum, _oneMinusDampening, _nesterov != 0, _firstStep != 0);
}

/// <summary>The AdamW scalars as a kernel argument.</summary>
internal readonly struct AdamWGpuArgs(AdamWStepArgs a)
{
    private readonly float _decay = a.Decay, _beta1 = a.Beta1, _oneMinusBeta1 = a.OneMinusBeta1, _beta2 = a.Beta2,
        _oneMinusBeta2 = a.OneMinusBeta2, _eps = a.Eps, _stepSize = a.StepSize, _bc2Sqrt = a.Bc2Sqrt;
    private readonly int _applyDecay = a.ApplyDecay ? 1 : 0;

    public AdamWStepArgs Args => new(_decay, _applyDecay != 0, _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _eps, _stepSize, _bc2Sqrt);
}

/// <summary>
/// Fused optimizer kernels: a thread per element calls the per-element rules of <see cref="OptimMath"/> (the same float
/// operations in the same order as the CPU kernel, so both devices give the same bits). The sum of squares is two-level
/// in double, as the contract asks: a group per block of <see cref="Block"/> elements (per-thread double sums, then a
/// double tree), then one group adds the block partials; fixed blocks and a fixed tree make it deterministic.
/// </summary>
internal static class OptimGpuKernels
{
    /// <summary>Elements per partial of the sum of squares (the CPU kernel's block).</summary>
    public const int Block = 4096;

    public static void Sgd(Index1D i, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> momentumBuffer, SgdGpuArgs args)
    {
        var a = args.Args;
        float buf = a.Momentum != 0f && !a.FirstStep ? momentumBuffer[i] : 0f;
        param[i] = OptimMath.Sgd(param[i], grad[i], ref buf, a);
        if (a.Momentum != 0f) momentumBuffer[i] = buf;
    }

    public static void AdamW(Index1D i, ArrayView<float> param, ArrayView<float> grad, ArrayView<float> expAvg,
        ArrayView<float> expAvgSq, AdamWGpuArgs args)
    {
        var a = args.Args;
        float m = expAvg[i], v = expAvgSq[i];
        param[i] = OptimMath.AdamW(param[i], grad[i], ref m, ref v, a);
        expAvg[i] = m;
        expAvgSq[i] = v;
    }

    public static void Scale(Index1D i, ArrayView<float> x, float factor) => x[i] *= factor;

    /// <summary>Group per block: partials[first + block] = Σ x² over the block, in double.</summary>
    public static void BlockSumOfSquares(ArrayView<float> x, ArrayView<double> partials, int first)
    {
        var scratch = SharedMemory.Allocate<double>(GroupSums.MaxGroup);
        int b = Grid.IdxX, t = Group.IdxX;
        int start = b * Block, end = Math.Min(start + Block, (int)x.Length);
        double s = 0;
        for (int i = start + t; i < end; i += Group.DimX) s += (double)x[i] * x[i];
        s = GroupSums.Sum(scratch, s);
        if (t == 0) partials[first + b] = s;
    }

    /// <summary>One group: total[0] = Σ of the partials.</summary>
    public static void SumPartials(ArrayView<double> partials, ArrayView<double> total)
    {
        var scratch = SharedMemory.Allocate<double>(GroupSums.MaxGroup);
        int t = Group.IdxX;
        double s = 0;
        for (int i = t; i < partials.Length; i += Group.DimX) s += partials[i];
        s = GroupSums.Sum(scratch, s);
        if (t == 0) total[0] = s;
    }
}
