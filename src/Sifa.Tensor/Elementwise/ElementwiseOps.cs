using System.Numerics.Tensors;

namespace Sifa.Tensors.Elementwise;

// One struct per element-wise op: its scalar maths (Apply, used by strided/broadcast loops), its span kernel
// (ApplySpan, SIMD through TensorPrimitives where it has one) and the name a GPU backend maps to its kernel.
// Generic kernels specialise on the struct, so the scalar path inlines.

/// <summary>An element-wise function of one input.</summary>
public interface IUnaryOp
{
    /// <summary>Kernel name for device backends.</summary>
    string Name { get; }
    /// <summary>The scalar function.</summary>
    /// <param name="x">Input.</param>
    /// <returns>Output.</returns>
    float Apply(float x);
    /// <summary>The function over dense spans (same length).</summary>
    /// <param name="x">Inputs.</param>
    /// <param name="y">Outputs.</param>
    void ApplySpan(ReadOnlySpan<float> x, Span<float> y);
}

/// <summary>An element-wise function of two inputs.</summary>
public interface IBinaryOp
{
    /// <summary>Kernel name for device backends.</summary>
    string Name { get; }
    /// <summary>The scalar function.</summary>
    /// <param name="a">First input.</param>
    /// <param name="b">Second input.</param>
    /// <returns>Output.</returns>
    float Apply(float a, float b);
    /// <summary>The function over dense spans (same length).</summary>
    /// <param name="a">First inputs.</param>
    /// <param name="b">Second inputs.</param>
    /// <param name="y">Outputs.</param>
    void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
}

#pragma warning disable CS1591 // the op structs are self-describing: name = maths
/// <summary>-x</summary>
public readonly struct NegOp : IUnaryOp { public string Name => "neg"; public float Apply(float x) => -x; public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Negate(x, y); }
/// <summary>exp(x)</summary>
public readonly struct ExpOp : IUnaryOp { public string Name => "exp"; public float Apply(float x) => MathF.Exp(x); public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Exp(x, y); }
/// <summary>ln(x)</summary>
public readonly struct LogOp : IUnaryOp { public string Name => "log"; public float Apply(float x) => MathF.Log(x); public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Log(x, y); }
/// <summary>sqrt(x)</summary>
public readonly struct SqrtOp : IUnaryOp { public string Name => "sqrt"; public float Apply(float x) => MathF.Sqrt(x); public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sqrt(x, y); }
/// <summary>|x|</summary>
public readonly struct AbsOp : IUnaryOp { public string Name => "abs"; public float Apply(float x) => MathF.Abs(x); public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Abs(x, y); }
/// <summary>tanh(x)</summary>
public readonly struct TanhOp : IUnaryOp { public string Name => "tanh"; public float Apply(float x) => MathF.Tanh(x); public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y); }
/// <summary>max(x, 0)</summary>
public readonly struct ReluOp : IUnaryOp { public string Name => "relu"; public float Apply(float x) => x > 0 ? x : 0; public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y); }
/// <summary>1 / (1 + exp(-x))</summary>
public readonly struct SigmoidOp : IUnaryOp { public string Name => "sigmoid"; public float Apply(float x) => 1f / (1f + MathF.Exp(-x)); public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y); }
/// <summary>x²</summary>
public readonly struct SquareOp : IUnaryOp { public string Name => "square"; public float Apply(float x) => x * x; public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Multiply(x, x, y); }
/// <summary>Exact GELU: 0.5 x (1 + erf(x/√2)).</summary>
public readonly struct GeluOp : IUnaryOp
{
    public string Name => "gelu";
    public float Apply(float x) => 0.5f * x * (1f + MathExt.Erf(x * 0.70710678118654752f));
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = Apply(x[i]); }
}
/// <summary>x·s + b (affine with constants).</summary>
public readonly struct AffineOp(float scale, float shift) : IUnaryOp
{
    public string Name => "affine";
    public float Apply(float x) => x * scale + shift;
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) { TensorPrimitives.Multiply(x, scale, y); TensorPrimitives.Add(y, shift, y); }
}
/// <summary>x^p</summary>
public readonly struct PowOp(float p) : IUnaryOp
{
    public string Name => "pow";
    public float Apply(float x) => MathF.Pow(x, p);
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Pow(x, p, y);
}

/// <summary>a + b</summary>
public readonly struct AddOp : IBinaryOp { public string Name => "add"; public float Apply(float a, float b) => a + b; public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y); }
/// <summary>a - b</summary>
public readonly struct SubOp : IBinaryOp { public string Name => "sub"; public float Apply(float a, float b) => a - b; public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y); }
/// <summary>a · b</summary>
public readonly struct MulOp : IBinaryOp { public string Name => "mul"; public float Apply(float a, float b) => a * b; public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y); }
/// <summary>a / b</summary>
public readonly struct DivOp : IBinaryOp { public string Name => "div"; public float Apply(float a, float b) => a / b; public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y); }
/// <summary>max(a, b)</summary>
public readonly struct MaxOp : IBinaryOp { public string Name => "max"; public float Apply(float a, float b) => MathF.Max(a, b); public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y); }
/// <summary>dy where x &gt; 0 else 0 (ReLU backward: a = x or y, b = dy).</summary>
public readonly struct ReluBackwardOp : IBinaryOp
{
    public string Name => "relu_backward";
    public float Apply(float a, float b) => a > 0 ? b : 0;
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < a.Length; i++) y[i] = a[i] > 0 ? b[i] : 0; }
}
/// <summary>dy · GELU'(x) (a = x, b = dy), with GELU'(x) = Φ(x) + x φ(x).</summary>
public readonly struct GeluBackwardOp : IBinaryOp
{
    public string Name => "gelu_backward";
    public float Apply(float a, float b)
    {
        float cdf = 0.5f * (1f + MathExt.Erf(a * 0.70710678118654752f));
        float pdf = 0.3989422804014327f * MathF.Exp(-0.5f * a * a);
        return b * (cdf + a * pdf);
    }
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < a.Length; i++) y[i] = Apply(a[i], b[i]); }
}
/// <summary>dy · y (1 - y) (a = sigmoid output y, b = dy).</summary>
public readonly struct SigmoidBackwardOp : IBinaryOp
{
    public string Name => "sigmoid_backward";
    public float Apply(float a, float b) => b * a * (1f - a);
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < a.Length; i++) y[i] = b[i] * a[i] * (1f - a[i]); }
}
#pragma warning restore CS1591

/// <summary>Scalar special functions in float precision.</summary>
public static class MathExt
{
    /// <summary>The error function, |error| &lt; 2e-7 (W. J. Cody's rational approximations through double).</summary>
    /// <param name="x">Argument.</param>
    /// <returns>erf(x).</returns>
    public static float Erf(float x)
    {
        // Double-precision erf via erfc continued on |x|; float accuracy is what GELU needs.
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        // Numerical Recipes erfc (Chebyshev fit), relative error < 1.2e-7 everywhere.
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                   t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                   t * (-0.82215223 + t * 0.17087277)))))))));
        double e = 1.0 - r;
        return (float)(x >= 0 ? e : -e);
    }
}
