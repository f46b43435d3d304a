using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>A value pair reduced together, so two sums cost one tree instead of two.</summary>
internal struct FloatPair
{
    public float A, B;
}

/// <summary>A pair of double sums reduced together.</summary>
internal struct DoublePair
{
    public double A, B;
}

/// <summary>
/// Tree reductions across one explicitly grouped kernel's group, called from inside kernels. Each thread first
/// accumulates its own strided share in a register; the tree then combines the group's partial values in a fixed order,
/// so results are deterministic for a given group size. The group size must be a power of two ≤ <see cref="MaxGroup"/>;
/// the caller allocates the shared scratch (<c>SharedMemory.Allocate&lt;float&gt;(GroupSums.MaxGroup)</c>) once per kernel.
/// Every thread of the group must call these (they contain barriers) and gets the result.
/// </summary>
internal static class GroupSums
{
    /// <summary>The largest group the reductions support: the length of the shared scratch.</summary>
    public const int MaxGroup = 256;

    public static float Sum(ArrayView<float> scratch, float value)
    {
        int t = Group.IdxX;
        scratch[t] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s) scratch[t] += scratch[t + s];
            Group.Barrier();
        }
        float r = scratch[0];
        Group.Barrier(); // the scratch may be reused right after
        return r;
    }

    // Double, for the sums the contract wants accumulated in double (the optimizer's sum of squares).
    public static double Sum(ArrayView<double> scratch, double value)
    {
        int t = Group.IdxX;
        scratch[t] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s) scratch[t] += scratch[t + s];
            Group.Barrier();
        }
        double r = scratch[0];
        Group.Barrier();
        return r;
    }

    public static FloatPair Sum(ArrayView<float> scratchA, ArrayView<float> scratchB, FloatPair value)
    {
        int t = Group.IdxX;
        scratchA[t] = value.A;
        scratchB[t] = value.B;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s)
            {
                scratchA[t] += scratchA[t + s];
                scratchB[t] += scratchB[t + s];
            }
            Group.Barrier();
        }
        var r = new FloatPair { A = scratchA[0], B = scratchB[0] };
        Group.Barrier();
        return r;
    }

    public static DoublePair Sum(ArrayView<double> scratchA, ArrayView<double> scratchB, DoublePair value)
    {
        int t = Group.IdxX;
        scratchA[t] = value.A;
        scratchB[t] = value.B;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s)
            {
                scratchA[t] += scratchA[t + s];
                scratchB[t] += scratchB[t + s];
            }
            Group.Barrier();
        }
        var r = new DoublePair { A = scratchA[0], B = scratchB[0] };
        Group.Barrier();
        return r;
    }

    public static float Max(ArrayView<float> scratch, float value)
    {
        int t = Group.IdxX;
        scratch[t] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            // NaN wins explicitly, as on the CPU: a device max instruction (PTX max.f32) would return the other operand.
            if (t < s)
            {
                float o = scratch[t + s];
                if (o > scratch[t] || float.IsNaN(o)) scratch[t] = o;
            }
            Group.Barrier();
        }
        float r = scratch[0];
        Group.Barrier();
        return r;
    }

    /// <summary>
    /// The power-of-two group size for a reduction over <paramref name="length"/> values per group: from one warp,
    /// doubled while the values outnumber the threads, at most the device's limit and <see cref="MaxGroup"/>.
    /// </summary>
    public static int GroupSize(int maxThreadsPerGroup, int warpSize, long length)
    {
        int cap = 1;
        while (cap * 2 <= Math.Min(MaxGroup, maxThreadsPerGroup)) cap *= 2;
        int g = 1;
        while (g < warpSize && g < cap) g *= 2;
        while (g < cap && g < length) g *= 2;
        return g;
    }
}
