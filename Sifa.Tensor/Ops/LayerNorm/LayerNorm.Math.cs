namespace Sifa.Tensors;

/// <summary>The per-row scalar maths of layer normalisation (formulas on <see cref="IBackend.LayerNormBackward"/>), shared by the kernels of every backend.</summary>
internal static class LayerNormMath
{
    /// <summary>σ⁻¹ = 1/√(var + eps).</summary>
    public static float InvStd(float variance, float eps) => 1f / MathF.Sqrt(variance + eps);

    /// <summary>dx = G·g + XHat·x̂ + Shift for one row, from σ⁻¹, mean(g) and mean(g·x̂): σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)).</summary>
    public static (float G, float XHat, float Shift) InputGradCoefficients(float invStd, float meanG, float meanGXHat) =>
        (invStd, -invStd * meanGXHat, -invStd * meanG);
}
