namespace Sifa.Tensors;

/// <summary>
/// The scalars of one fused SGD update of one parameter (PyTorch semantics). The hyper-parameters are formed in double
/// and rounded to float once, as PyTorch does with its Python-float hyper-parameters; <see cref="Create"/> does that.
/// </summary>
/// <param name="Lr">Learning rate.</param>
/// <param name="WeightDecay">L2 weight decay (0: none).</param>
/// <param name="Momentum">Momentum μ (0: no momentum buffer).</param>
/// <param name="OneMinusDampening">1 − dampening, the weight of the gradient in the momentum buffer.</param>
/// <param name="Nesterov">Nesterov momentum.</param>
/// <param name="FirstStep">The parameter's first update: the momentum buffer is written (set to the gradient), not read.</param>
public readonly record struct SgdStepArgs(float Lr, float WeightDecay, float Momentum, float OneMinusDampening, bool Nesterov, bool FirstStep)
{
    /// <summary>The arguments from the optimizer's double hyper-parameters.</summary>
    public static SgdStepArgs Create(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep) =>
        new((float)lr, (float)weightDecay, (float)momentum, (float)(1 - dampening), nesterov, firstStep);

    /// <summary>Throws unless the tensors fit one fused update: dense, one device, one shape; a buffer exactly when μ ≠ 0.</summary>
    public void Validate(Tensor param, Tensor grad, Tensor? momentumBuffer)
    {
        OptimChecks.Same("SgdStep", param, grad);
        if ((Momentum != 0f) != (momentumBuffer != null))
            throw new ArgumentException($"SgdStep: momentum {Momentum} {(momentumBuffer == null ? "needs" : "takes no")} momentum buffer");
        if (momentumBuffer != null) OptimChecks.Same("SgdStep", param, momentumBuffer);
    }
}

/// <summary>
/// The scalars of one fused AdamW update of one parameter at its step t (PyTorch semantics, no amsgrad), formed in
/// double and rounded to float once by <see cref="Create"/>.
/// </summary>
/// <param name="Decay">The decoupled weight-decay factor 1 − lr·wd.</param>
/// <param name="ApplyDecay">Whether to apply <see cref="Decay"/> (weight decay ≠ 0).</param>
/// <param name="Beta1">β1.</param>
/// <param name="OneMinusBeta1">1 − β1.</param>
/// <param name="Beta2">β2.</param>
/// <param name="OneMinusBeta2">1 − β2.</param>
/// <param name="Eps">ε.</param>
/// <param name="StepSize">lr / (1 − β1^t).</param>
/// <param name="Bc2Sqrt">sqrt(1 − β2^t).</param>
public readonly record struct AdamWStepArgs(float Decay, bool ApplyDecay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float Eps, float StepSize, float Bc2Sqrt)
{
    /// <summary>The arguments of step <paramref name="step"/> (1 on a parameter's first update).</summary>
    public static AdamWStepArgs Create(double lr, double beta1, double beta2, double eps, double weightDecay, long step)
    {
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        return new((float)(1 - lr * weightDecay), weightDecay != 0, (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
            (float)eps, (float)(lr / bc1), (float)Math.Sqrt(bc2));
    }

    /// <summary>Throws unless the tensors fit one fused update: dense, one device, one shape.</summary>
    public void Validate(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq)
    {
        OptimChecks.Same("AdamWStep", param, grad);
        OptimChecks.Same("AdamWStep", param, expAvg);
        OptimChecks.Same("AdamWStep", param, expAvgSq);
    }
}

internal static class OptimChecks
{
    public static void Dense(string op, IReadOnlyList<Tensor> tensors, Device device)
    {
        foreach (var t in tensors)
        {
            if (!t.IsContiguous) throw new ArgumentException($"{op}: tensors must be contiguous");
            if (t.Device != device) throw new ArgumentException($"{op}: a tensor on {t.Device} given to the {device} backend");
        }
    }

    public static void Same(string op, Tensor param, Tensor other)
    {
        if (!param.IsContiguous || !other.IsContiguous) throw new ArgumentException($"{op}: tensors must be contiguous");
        if (other.Device != param.Device) throw new ArgumentException($"{op}: a tensor on {other.Device} for a parameter on {param.Device}");
        if (!other.Shape.AsSpan().SequenceEqual(param.Shape))
            throw new ArgumentException($"{op}: shape {Tensor.Fmt(other.Shape)} for a parameter of shape {Tensor.Fmt(param.Shape)}");
    }
}

public partial interface IBackend
{
    /// <summary>
    /// One fused SGD update in place (rules in <c>OptimMath</c>): <c>d = g + wd·p</c>; with momentum,
    /// <c>buf = d</c> on the first step, else <c>buf = μ·buf + (1−dampening)·d</c>, then <c>d = buf</c> or, with
    /// Nesterov, <c>d + μ·buf</c>; <c>p −= lr·d</c>. All tensors dense, on this device, of one shape; the momentum
    /// buffer (updated in place) is null exactly when μ = 0.
    /// </summary>
    void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args);

    /// <summary>
    /// One fused AdamW update in place (rules in <c>OptimMath</c>): <c>p *= 1−lr·wd</c>; <c>m = β1·m + (1−β1)·g</c>;
    /// <c>v = β2·v + (1−β2)·g²</c>; <c>p −= stepSize · m / (sqrt(v)/sqrt(1−β2^t) + ε)</c>.
    /// </summary>
    void AdamWStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamWStepArgs args);

    /// <summary>
    /// Σ x² over every element of every tensor, accumulated in double, read back once: gradient-norm clipping needs
    /// the value on the host anyway (to decide whether to scale and to report the norm), and a float 0-d tensor would
    /// lose the double accumulation that keeps the clip factor exact. The sum is deterministic (fixed blocks summed
    /// in a fixed order), whatever the thread count. Every tensor dense and on this device.
    /// </summary>
    double SumOfSquares(IReadOnlyList<Tensor> tensors);

    /// <summary>Multiplies every element of every tensor by <paramref name="factor"/> in place (the clip of gradient-norm clipping); every tensor dense and on this device.</summary>
    void ScaleInPlace(IReadOnlyList<Tensor> tensors, float factor);
}
