using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>The reductions of <see cref="ReduceKind"/> as device functions (NaN propagates through max and min, as on the CPU).</summary>
internal static class Combine
{
    public static double Apply(int kind, double a, double b) => kind switch
    {
        (int)ReduceKind.Max => b > a || double.IsNaN(b) ? b : a,
        (int)ReduceKind.Min => b < a || double.IsNaN(b) ? b : a,
        _ => a + b,
    };

    public static double Identity(int kind) => kind switch
    {
        (int)ReduceKind.Max => double.NegativeInfinity,
        (int)ReduceKind.Min => double.PositiveInfinity,
        _ => 0,
    };
}

/// <summary>
/// The <see cref="ReduceKind"/> tree reduction over one group through shared memory (the group size must be a power of
/// two ≤ <see cref="MaxGroup"/>); every thread of the group receives the result. Only barriers, no warp shuffles, so the
/// same code runs on ILGPU's CPU accelerator, whose groups are tiny. Plain float sums and maxima: <see cref="GroupSums"/>.
/// </summary>
internal static class GroupReduce
{
    public const int MaxGroup = 256;

    public static double Reduce(double v, ArrayView<double> shared, int kind)
    {
        int t = Group.IdxX;
        shared[t] = v;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] = Combine.Apply(kind, shared[t], shared[t + s]);
            Group.Barrier();
        }
        double r = shared[0];
        Group.Barrier(); // everyone has read shared[0] before the next reduction overwrites it
        return r;
    }

    /// <summary>The group size for rows of <paramref name="length"/>: a power of two, at most <paramref name="max"/>.</summary>
    public static int GroupSizeFor(int length, int max)
    {
        int g = 1;
        while (g * 2 <= max && g < length) g *= 2;
        while (g > max) g /= 2;
        return g;
    }
}
