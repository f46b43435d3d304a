using System.Runtime.CompilerServices;

namespace Sifa.Tensors;

/// <summary>
/// The optimizer update rules, per element, written once: every backend's kernel computes exactly these float
/// operations in this order (the CPU kernel's SIMD body repeats them lane-wise and its tail calls them; a GPU kernel
/// calls them per thread), so all devices give the same bits. Products and sums are separate roundings, never fused
/// multiply-adds, to match.
/// </summary>
internal static class OptimMath
{
    /// <summary>
    /// SGD on one element: returns the new parameter and updates the momentum buffer <paramref name="buf"/> (ignored
    /// when μ = 0; written, not read, on the first step).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sgd(float p, float g, ref float buf, in SgdStepArgs a)
    {
        float d = a.WeightDecay != 0f ? p * a.WeightDecay + g : g;
        if (a.Momentum != 0f)
        {
            buf = a.FirstStep ? d : buf * a.Momentum + d * a.OneMinusDampening;
            d = a.Nesterov ? buf * a.Momentum + d : buf;
        }
        return p - d * a.Lr;
    }

    /// <summary>AdamW on one element: returns the new parameter and updates the moments <paramref name="m"/> and <paramref name="v"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float AdamW(float p, float g, ref float m, ref float v, in AdamWStepArgs a)
    {
        if (a.ApplyDecay) p *= a.Decay;
        m = m * a.Beta1 + g * a.OneMinusBeta1;
        v = v * a.Beta2 + g * g * a.OneMinusBeta2;
        return p - m / (MathF.Sqrt(v) / a.Bc2Sqrt + a.Eps) * a.StepSize;
    }
}
