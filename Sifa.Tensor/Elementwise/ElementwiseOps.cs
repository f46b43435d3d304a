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

/// <summary>-x</summary>
public readonly struct NegOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "neg";
    /// <inheritdoc/>
    public float Apply(float x) => -x;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Negate(x, y);
}
/// <summary>exp(x)</summary>
public readonly struct ExpOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "exp";
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Exp(x);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Exp(x, y);
}
/// <summary>ln(x)</summary>
public readonly struct LogOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "log";
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Log(x);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Log(x, y);
}
/// <summary>sqrt(x)</summary>
public readonly struct SqrtOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "sqrt";
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Sqrt(x);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sqrt(x, y);
}
/// <summary>|x|</summary>
public readonly struct AbsOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "abs";
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Abs(x);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Abs(x, y);
}
/// <summary>tanh(x)</summary>
public readonly struct TanhOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "tanh";
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Tanh(x);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);
}
/// <summary>max(x, 0)</summary>
public readonly struct ReluOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "relu";
    /// <inheritdoc/>
    public float Apply(float x) => x > 0 ? x : 0;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);
}
/// <summary>1 / (1 + exp(-x))</summary>
public readonly struct SigmoidOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "sigmoid";
    /// <inheritdoc/>
    public float Apply(float x) => 1f / (1f + MathF.Exp(-x));
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);
}
/// <summary>x²</summary>
public readonly struct SquareOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "square";
    /// <inheritdoc/>
    public float Apply(float x) => x * x;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Multiply(x, x, y);
}
/// <summary>Exact GELU: 0.5 x (1 + erf(x/√2)).</summary>
public readonly struct GeluOp : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "gelu";
    /// <inheritdoc/>
    public float Apply(float x) => 0.5f * x * (1f + MathExt.Erf(x * 0.70710678118654752f));
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
            for (; i <= x.Length - 4; i += 4)
            {
                var v = System.Runtime.Intrinsics.Vector128.Create(x[i], x[i + 1], x[i + 2], x[i + 3]);
                var e = MathExt.Erf4(System.Runtime.Intrinsics.Vector128.Multiply(v, 0.70710678118654752f));
                var r = 0.5f * v * (System.Runtime.Intrinsics.Vector128<float>.One + e);
                System.Runtime.Intrinsics.Vector128.CopyTo(r, y.Slice(i, 4));
            }
        for (; i < x.Length; i++) y[i] = Apply(x[i]);
    }
}
/// <summary>x·s + b (affine with constants).</summary>
public readonly struct AffineOp(float scale, float shift) : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "affine";
    /// <inheritdoc/>
    public float Apply(float x) => x * scale + shift;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) { TensorPrimitives.Multiply(x, scale, y); TensorPrimitives.Add(y, shift, y); }
}
/// <summary>x^p</summary>
public readonly struct PowOp(float p) : IUnaryOp
{
    /// <inheritdoc/>
    public string Name => "pow";
    /// <inheritdoc/>
    public float Apply(float x) => MathF.Pow(x, p);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Pow(x, p, y);
}

/// <summary>a + b</summary>
public readonly struct AddOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "add";
    /// <inheritdoc/>
    public float Apply(float a, float b) => a + b;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y);
}
/// <summary>a - b</summary>
public readonly struct SubOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "sub";
    /// <inheritdoc/>
    public float Apply(float a, float b) => a - b;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y);
}
/// <summary>a · b</summary>
public readonly struct MulOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "mul";
    /// <inheritdoc/>
    public float Apply(float a, float b) => a * b;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y);
}
/// <summary>a / b</summary>
public readonly struct DivOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "div";
    /// <inheritdoc/>
    public float Apply(float a, float b) => a / b;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y);
}
/// <summary>max(a, b)</summary>
public readonly struct MaxOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "max";
    /// <inheritdoc/>
    public float Apply(float a, float b) => MathF.Max(a, b);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y);
}
/// <summary>dy where x &gt; 0 else 0 (ReLU backward: a = x or y, b = dy).</summary>
public readonly struct ReluBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "relu_backward";
    /// <inheritdoc/>
    public float Apply(float a, float b) => a > 0 ? b : 0;
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int n = a.Length, i = 0;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref float ra = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
            ref float rb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
            ref float ry = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
            var zero = System.Runtime.Intrinsics.Vector256<float>.Zero;
            // a > 0 is false for NaN, like the scalar rule; AND with the all-ones mask keeps b bit for bit.
            for (; i <= n - 8; i += 8)
            {
                var va = System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref ra, (nuint)i);
                var vb = System.Runtime.Intrinsics.Vector256.LoadUnsafe(ref rb, (nuint)i);
                System.Runtime.Intrinsics.Vector256.StoreUnsafe(System.Runtime.Intrinsics.Vector256.GreaterThan(va, zero) & vb, ref ry, (nuint)i);
            }
        }
        for (; i < n; i++) y[i] = a[i] > 0 ? b[i] : 0;
    }
}
/// <summary>dy · GELU'(x) (a = x, b = dy), with GELU'(x) = Φ(x) + x φ(x).</summary>
public readonly struct GeluBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "gelu_backward";
    /// <inheritdoc/>
    public float Apply(float a, float b)
    {
        float cdf = 0.5f * (1f + MathExt.Erf(a * 0.70710678118654752f));
        float pdf = 0.3989422804014327f * MathF.Exp(-0.5f * a * a);
        return b * (cdf + a * pdf);
    }
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0;
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
            for (; i <= a.Length - 4; i += 4)
            {
                var va = System.Runtime.Intrinsics.Vector128.Create(a[i], a[i + 1], a[i + 2], a[i + 3]);
                var vb = System.Runtime.Intrinsics.Vector128.Create(b[i], b[i + 1], b[i + 2], b[i + 3]);
                var cdf = 0.5f * (System.Runtime.Intrinsics.Vector128<float>.One + MathExt.Erf4(va * 0.70710678118654752f));
                var pdf = 0.3989422804014327f * System.Runtime.Intrinsics.Vector128.Exp(-0.5f * va * va);
                System.Runtime.Intrinsics.Vector128.CopyTo(vb * (cdf + va * pdf), y.Slice(i, 4));
            }
        for (; i < a.Length; i++) y[i] = Apply(a[i], b[i]);
    }
}
/// <summary>dy · y (1 - y) (a = sigmoid output y, b = dy).</summary>
public readonly struct SigmoidBackwardOp : IBinaryOp
{
    /// <inheritdoc/>
    public string Name => "sigmoid_backward";
    /// <inheritdoc/>
    public float Apply(float a, float b) => b * a * (1f - a);
    /// <inheritdoc/>
    public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) { for (int i = 0; i < a.Length; i++) y[i] = b[i] * a[i] * (1f - a[i]); }
}

/// <summary>Scalar special functions in float precision.</summary>
public static class MathExt
{
    /// <summary><see cref="Erf"/> on four values at once (the same double-precision formula, AVX).</summary>
    /// <param name="x">Arguments.</param>
    /// <returns>erf of each.</returns>
    public static System.Runtime.Intrinsics.Vector128<float> Erf4(System.Runtime.Intrinsics.Vector128<float> x)
    {
        static System.Runtime.Intrinsics.Vector256<double> C(double v) => System.Runtime.Intrinsics.Vector256.Create(v);
        var xd = System.Runtime.Intrinsics.X86.Avx.ConvertToVector256Double(x);
        var z = System.Runtime.Intrinsics.Vector256.Abs(xd);
        var t = System.Runtime.Intrinsics.Vector256<double>.One / (System.Runtime.Intrinsics.Vector256<double>.One + 0.5 * z);
        var p = t * (C(-0.82215223) + t * 0.17087277);
        p = t * (C(1.48851587) + p);
        p = t * (C(-1.13520398) + p);
        p = t * (C(0.27886807) + p);
        p = t * (C(-0.18628806) + p);
        p = t * (C(0.09678418) + p);
        p = t * (C(0.37409196) + p);
        p = t * (C(1.00002368) + p);
        var r = t * System.Runtime.Intrinsics.Vector256.Exp(-z * z - C(1.26551223) + p);
        var e = System.Runtime.Intrinsics.Vector256<double>.One - r;
        var res = System.Runtime.Intrinsics.Vector256.ConditionalSelect(
            System.Runtime.Intrinsics.Vector256.GreaterThanOrEqual(xd, System.Runtime.Intrinsics.Vector256<double>.Zero), e, -e);
        return System.Runtime.Intrinsics.X86.Avx.ConvertToVector128Single(res);
    }

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
