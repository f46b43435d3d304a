using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>Sizes and options of one layer-norm call: x viewed as (Rows, D), normalised over D.</summary>
internal struct LayerNormArgs
{
    public int Rows, D;
    public float Eps;
    public int HasWeight, HasBias, NeedWeight, NeedBias;
    /// <summary>Rows summed by one thread of the parameter-gradient pass (the first level of its two-level sum).</summary>
    public int Chunk;

    public readonly int Chunks => (Rows + Chunk - 1) / Chunk;
}

/// <summary>
/// Layer-norm kernels (the per-row scalar maths is <see cref="LayerNormMath"/>). Per-row statistics and dx: one group
/// per row, per-thread float sums then a group tree (the CPU sums rows in float too). dweight/dbias are column sums
/// over the rows, done without atomics in two levels: each thread sums one column over a chunk of rows into a partial,
/// then one thread per column adds its chunk partials in order, so the result is deterministic.
/// </summary>
internal static class LayerNormGpuKernels
{
    /// <summary>Group per row: y = (x·σ⁻¹ − μ·σ⁻¹)·w + b, saving the row's mean and σ⁻¹ (biased variance).</summary>
    public static void Forward(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y,
        ArrayView<float> mean, ArrayView<float> invStd, LayerNormArgs a)
    {
        var scratch = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int r = Grid.IdxX, t = Group.IdxX, step = Group.DimX, d = a.D;
        int row = r * d;
        float s = 0;
        for (int j = t; j < d; j += step) s += x[row + j];
        float mu = GroupSums.Sum(scratch, s) / d;
        float q = 0;
        for (int j = t; j < d; j += step)
        {
            float v = x[row + j] - mu;
            q += v * v;
        }
        float istd = LayerNormMath.InvStd(GroupSums.Sum(scratch, q) / d, a.Eps);
        if (t == 0)
        {
            mean[r] = mu;
            invStd[r] = istd;
        }
        float shift = -mu * istd;
        for (int j = t; j < d; j += step)
        {
            float v = x[row + j] * istd + shift;
            if (a.HasWeight != 0) v *= weight[j];
            if (a.HasBias != 0) v += bias[j];
            y[row + j] = v;
        }
    }

    /// <summary>Group per row: dx = σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w.</summary>
    public static void BackwardInput(ArrayView<float> dy, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> mean,
        ArrayView<float> invStd, ArrayView<float> dx, LayerNormArgs a)
    {
        var scratchA = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        var scratchB = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int r = Grid.IdxX, t = Group.IdxX, step = Group.DimX, d = a.D;
        int row = r * d;
        float istd = invStd[r], shift = -mean[r] * istd;
        var acc = new FloatPair();
        for (int j = t; j < d; j += step)
        {
            float g = a.HasWeight != 0 ? dy[row + j] * weight[j] : dy[row + j];
            acc.A += g;
            acc.B += g * (x[row + j] * istd + shift);
        }
        var sum = GroupSums.Sum(scratchA, scratchB, acc);
        var (cg, cx, c0) = LayerNormMath.InputGradCoefficients(istd, sum.A / d, sum.B / d);
        for (int j = t; j < d; j += step)
        {
            float g = a.HasWeight != 0 ? dy[row + j] * weight[j] : dy[row + j];
            dx[row + j] = g * cg + (x[row + j] * istd + shift) * cx + c0;
        }
    }

    /// <summary>
    /// Thread per (column j, chunk of rows): partial Σ dy·x̂ into <paramref name="partialWeight"/> and Σ dy into
    /// <paramref name="partialBias"/>, both laid out (Chunks, D).
    /// </summary>
    public static void ParamPartials(Index2D i, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean,
        ArrayView<float> invStd, ArrayView<float> partialWeight, ArrayView<float> partialBias, LayerNormArgs a)
    {
        int j = i.X, chunk = i.Y, d = a.D;
        int r0 = chunk * a.Chunk, r1 = Math.Min(a.Rows, r0 + a.Chunk);
        float sw = 0, sb = 0;
        for (int r = r0; r < r1; r++)
        {
            float istd = invStd[r];
            float g = dy[r * d + j];
            sw += g * (x[r * d + j] * istd - mean[r] * istd);
            sb += g;
        }
        partialWeight[chunk * d + j] = sw;
        partialBias[chunk * d + j] = sb;
    }

    /// <summary>Thread per column: adds the chunk partials in chunk order.</summary>
    public static void ParamTotals(Index1D j, ArrayView<float> partialWeight, ArrayView<float> partialBias,
        ArrayView<float> dWeight, ArrayView<float> dBias, LayerNormArgs a)
    {
        float sw = 0, sb = 0;
        for (int c = 0; c < a.Chunks; c++)
        {
            sw += partialWeight[c * a.D + j];
            sb += partialBias[c * a.D + j];
        }
        if (a.NeedWeight != 0) dWeight[j] = sw;
        if (a.NeedBias != 0) dBias[j] = sb;
    }
}
