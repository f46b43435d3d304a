namespace Sifa.Tensors.Elementwise;

// One struct per element-wise op: its data (constants such as AffineOp's scale) and its scalar maths, in float.
// Backends take the struct as a generic argument, so Apply inlines: the CPU backend runs it over spans, with SIMD
// versions of the common ops in Elementwise.Cpu.cs; the ILGPU backend passes the struct itself to a generic kernel.
// A user-defined op is a struct implementing IUnaryOp or IBinaryOp, and runs on every device.

/// <summary>An element-wise function of one input.</summary>
public interface IUnaryOp
{
    /// <summary>The function.</summary>
    float Apply(float x);
}

/// <summary>An element-wise function of two inputs.</summary>
public interface IBinaryOp
{
    /// <summary>The function.</summary>
    float Apply(float a, float b);
}

/// <summary>-x</summary>
public readonly partial struct NegOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => -x;
}

/// <summary>exp(x)</summary>
public readonly partial struct ExpOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Exp(x);
}

/// <summary>ln(x)</summary>
public readonly partial struct LogOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Log(x);
}

/// <summary>√x</summary>
public readonly partial struct SqrtOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Sqrt(x);
}

/// <summary>|x|</summary>
public readonly partial struct AbsOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Abs(x);
}

/// <summary>tanh(x)</summary>
public readonly partial struct TanhOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Tanh(x);
}

/// <summary>max(x, 0)</summary>
public readonly partial struct ReluOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => x > 0 ? x : 0;
}

/// <summary>1 / (1 + exp(−x))</summary>
public readonly partial struct SigmoidOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => 1f / (1f + MathF.Exp(-x));
}

/// <summary>x²</summary>
public readonly partial struct SquareOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => x * x;
}

/// <summary>Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).</summary>
public readonly partial struct GeluOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => 0.5f * x * (1f + GeluMath.Erf(x * GeluMath.InvSqrt2));
}

/// <summary>x·scale + shift.</summary>
/// <param name="Scale">The factor.</param>
/// <param name="Shift">The addend.</param>
public readonly partial record struct AffineOp(float Scale, float Shift) : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => x * Scale + Shift;
}

/// <summary>x^exponent</summary>
/// <param name="Exponent">The power.</param>
public readonly partial record struct PowOp(float Exponent) : IUnaryOp
{
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Pow(x, Exponent);
}

/// <summary>a + b</summary>
public readonly partial struct AddOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a + b;
}

/// <summary>a − b</summary>
public readonly partial struct SubOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a - b;
}

/// <summary>a · b</summary>
public readonly partial struct MulOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a * b;
}

/// <summary>a / b</summary>
public readonly partial struct DivOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a / b;
}

/// <summary>max(a, b)</summary>
public readonly partial struct MaxOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => MathF.Max(a, b);
}

/// <summary>ReLU backward: dy where x &gt; 0, else 0 (a = x or the ReLU output, b = dy; NaN in a gives 0).</summary>
public readonly partial struct ReluBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a > 0 ? b : 0;
}

/// <summary>GELU backward: dy·GELU′(x) with GELU′(x) = Φ(x) + x·φ(x) (a = x, b = dy).</summary>
public readonly partial struct GeluBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b)
    {
        float cdf = 0.5f * (1f + GeluMath.Erf(a * GeluMath.InvSqrt2));
        float pdf = GeluMath.InvSqrt2Pi * MathF.Exp(-0.5f * a * a);
        return b * (cdf + a * pdf);
    }
}

/// <summary>Sigmoid backward: dy·y·(1 − y) (a = the sigmoid output y, b = dy).</summary>
public readonly partial struct SigmoidBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => b * a * (1f - a);
}

/// <summary>The error function and constants of GELU, in float (what a GPU kernel runs too).</summary>
public static class GeluMath
{
    /// <summary>1/√2.</summary>
    public const float InvSqrt2 = 0.70710678118654752f;

    /// <summary>1/√(2π), the normal density at 0.</summary>
    public const float InvSqrt2Pi = 0.3989422804014327f;

    /// <summary>
    /// erf(x) through Numerical Recipes' Chebyshev fit of erfc (relative error of the fit &lt; 1.2e-7), evaluated in float:
    /// absolute error a few 1e-7, which is what GELU needs (its output is x·Φ(x)).
    /// </summary>
    public static float Erf(float x)
    {
        float z = MathF.Abs(x);
        float t = 1f / (1f + 0.5f * z);
        float r = t * MathF.Exp(-z * z - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
                  t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
                  t * (-0.82215223f + t * 0.17087277f)))))))));
        float e = 1f - r;
        return x >= 0 ? e : -e;
    }
}
