namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>Layer normalisation over the last dim (biased variance): y = (x − μ)·σ⁻¹·w + b.</summary>
    /// <param name="x">Input (..., D).</param>
    /// <param name="weight">Optional scale (D).</param>
    /// <param name="bias">Optional shift (D).</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>The output, and the saved per-row mean and inverse standard deviation (shape x.Shape[..^1]).</returns>
    (Tensor Output, Tensor Mean, Tensor InvStd) LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, float eps);

    /// <summary>
    /// Gradients of <see cref="LayerNormForward"/>, per row with x̂ = (x − μ)·σ⁻¹ and g = dy·w:
    /// dx = σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)); dweight = Σ dy·x̂ and dbias = Σ dy over the rows.
    /// Kernels take dx's coefficients from <see cref="LayerNormMath.InputGradCoefficients"/>.
    /// </summary>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="x">The forward input.</param>
    /// <param name="weight">The forward scale, or null.</param>
    /// <param name="mean">Saved per-row mean.</param>
    /// <param name="invStd">Saved per-row inverse standard deviation.</param>
    /// <param name="needInput">Compute dx.</param>
    /// <param name="needWeight">Compute dweight.</param>
    /// <param name="needBias">Compute dbias.</param>
    /// <returns>dx, dweight, dbias (null where not requested).</returns>
    (Tensor? Input, Tensor? Weight, Tensor? Bias) LayerNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias);
}

/// <summary>The shape rules of layer normalisation, checked here once for every backend (its kernels trust them).</summary>
internal static class LayerNormChecks
{
    /// <summary>Checks a forward; returns D, the normalised (last) dim.</summary>
    public static int Forward(Tensor x, Tensor? weight, Tensor? bias)
    {
        const string op = "layer_norm";
        if (x.Rank < 1) throw new ArgumentException($"{op}: input must have at least one dim");
        int d = x.Shape[^1];
        if (weight != null && (weight.Rank != 1 || weight.Shape[0] != d)) throw new ArgumentException($"{op}: weight {Tensor.Fmt(weight.Shape)} must be ({d})");
        if (bias != null && (bias.Rank != 1 || bias.Shape[0] != d)) throw new ArgumentException($"{op}: bias {Tensor.Fmt(bias.Shape)} must be ({d})");
        return d;
    }

    /// <summary>Checks a backward.</summary>
    public static void Backward(Tensor dy, Tensor x)
    {
        if (!dy.Shape.AsSpan().SequenceEqual(x.Shape))
            throw new ArgumentException($"layer_norm backward: gradient {Tensor.Fmt(dy.Shape)} differs from the input {Tensor.Fmt(x.Shape)}");
    }
}
