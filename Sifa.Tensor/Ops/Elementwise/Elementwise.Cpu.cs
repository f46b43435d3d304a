using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors.Elementwise
{
    /// <summary>An optional vectorised version of a unary op over dense spans, used by the CPU backend.</summary>
    public interface ISpanUnaryOp
    {
        /// <summary>y[i] = Apply(x[i]) for every i (same lengths).</summary>
        void ApplySpan(ReadOnlySpan<float> x, Span<float> y);
    }

    /// <summary>An optional vectorised version of a binary op over dense spans, used by the CPU backend.</summary>
    public interface ISpanBinaryOp
    {
        /// <summary>y[i] = Apply(a[i], b[i]) for every i (same lengths).</summary>
        void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
    }

    // SIMD versions of the common ops (TensorPrimitives, which picks AVX-512 itself where present, or explicit vectors
    // where it has none: Vector512 when accelerated, else Vector256). Each must equal its scalar Apply up to the last
    // bit of the vector maths functions.
    public readonly partial struct NegOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Negate(x, y); }
    public readonly partial struct ExpOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Exp(x, y); }
    public readonly partial struct LogOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Log(x, y); }
    public readonly partial struct SqrtOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sqrt(x, y); }
    public readonly partial struct AbsOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Abs(x, y); }
    public readonly partial struct TanhOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y); }
    public readonly partial struct ReluOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y); }
    public readonly partial struct SigmoidOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y); }
    public readonly partial struct SquareOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Multiply(x, x, y); }
    public readonly partial record struct PowOp : ISpanUnaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Pow(x, Exponent, y); }
    public readonly partial record struct AffineOp : ISpanUnaryOp
    {
        /// <inheritdoc/>
        public void ApplySpan(ReadOnlySpan<float> x, Span<float> y)
        {
            TensorPrimitives.Multiply(x, Scale, y);
            TensorPrimitives.Add(y, Shift, y);
        }
    }

    public readonly partial struct AddOp : ISpanBinaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Add(a, b, y); }
    public readonly partial struct SubOp : ISpanBinaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Subtract(a, b, y); }
    public readonly partial struct MulOp : ISpanBinaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Multiply(a, b, y); }
    public readonly partial struct DivOp : ISpanBinaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Divide(a, b, y); }
    public readonly partial struct MaxOp : ISpanBinaryOp { /** <inheritdoc/> */ public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => TensorPrimitives.Max(a, b, y); }

    public readonly partial struct ReluBackwardOp : ISpanBinaryOp
    {
        /// <inheritdoc/>
        public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
        {
            int n = a.Length, i = 0;
            ref float ra = ref MemoryMarshal.GetReference(a);
            ref float rb = ref MemoryMarshal.GetReference(b);
            ref float ry = ref MemoryMarshal.GetReference(y);
            // a > 0 is false for NaN, like the scalar rule; AND with the all-ones mask keeps b bit for bit.
            if (GeluSimd.Use512)
                for (; i <= n - 16; i += 16)
                {
                    var va = Vector512.LoadUnsafe(ref ra, (nuint)i);
                    var vb = Vector512.LoadUnsafe(ref rb, (nuint)i);
                    Vector512.StoreUnsafe(Vector512.GreaterThan(va, Vector512<float>.Zero) & vb, ref ry, (nuint)i);
                }
            if (Vector256.IsHardwareAccelerated)
            {
                for (; i <= n - 8; i += 8)
                {
                    var va = Vector256.LoadUnsafe(ref ra, (nuint)i);
                    var vb = Vector256.LoadUnsafe(ref rb, (nuint)i);
                    Vector256.StoreUnsafe(Vector256.GreaterThan(va, Vector256<float>.Zero) & vb, ref ry, (nuint)i);
                }
            }
            for (; i < n; i++) y[i] = Apply(a[i], b[i]);
        }
    }

    public readonly partial struct SigmoidBackwardOp : ISpanBinaryOp
    {
        /// <inheritdoc/>
        public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
        {
            for (int i = 0; i < a.Length; i++) y[i] = Apply(a[i], b[i]);
        }
    }

    public readonly partial struct GeluOp : ISpanUnaryOp
    {
        /// <inheritdoc/>
        public void ApplySpan(ReadOnlySpan<float> x, Span<float> y)
        {
            int i = 0;
            if (GeluSimd.Use512)
                for (; i <= x.Length - 16; i += 16)
                {
                    var v = Vector512.Create(x.Slice(i, 16));
                    var r = 0.5f * v * (Vector512<float>.One + GeluSimd.Erf(v * GeluMath.InvSqrt2));
                    r.CopyTo(y.Slice(i, 16));
                }
            if (Vector256.IsHardwareAccelerated)
                for (; i <= x.Length - 8; i += 8)
                {
                    var v = Vector256.Create(x.Slice(i, 8));
                    var r = 0.5f * v * (Vector256<float>.One + GeluSimd.Erf(v * GeluMath.InvSqrt2));
                    r.CopyTo(y.Slice(i, 8));
                }
            for (; i < x.Length; i++) y[i] = Apply(x[i]);
        }
    }

    public readonly partial struct GeluBackwardOp : ISpanBinaryOp
    {
        /// <inheritdoc/>
        public void ApplySpan(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
        {
            int i = 0;
            if (GeluSimd.Use512)
                for (; i <= a.Length - 16; i += 16)
                {
                    var va = Vector512.Create(a.Slice(i, 16));
                    var vb = Vector512.Create(b.Slice(i, 16));
                    var cdf = 0.5f * (Vector512<float>.One + GeluSimd.Erf(va * GeluMath.InvSqrt2));
                    var pdf = GeluMath.InvSqrt2Pi * Vector512.Exp(-0.5f * va * va);
                    (vb * (cdf + va * pdf)).CopyTo(y.Slice(i, 16));
                }
            if (Vector256.IsHardwareAccelerated)
                for (; i <= a.Length - 8; i += 8)
                {
                    var va = Vector256.Create(a.Slice(i, 8));
                    var vb = Vector256.Create(b.Slice(i, 8));
                    var cdf = 0.5f * (Vector256<float>.One + GeluSimd.Erf(va * GeluMath.InvSqrt2));
                    var pdf = GeluMath.InvSqrt2Pi * Vector256.Exp(-0.5f * va * va);
                    (vb * (cdf + va * pdf)).CopyTo(y.Slice(i, 8));
                }
            for (; i < a.Length; i++) y[i] = Apply(a[i], b[i]);
        }
    }

    // GeluMath.Erf on eight or sixteen lanes: the same float formula, in the same order of operations.
    internal static class GeluSimd
    {
        /// <summary>Whether the explicit-vector ops take 16-lane AVX-512 steps (test hook: false forces the 8-lane path).</summary>
        internal static bool Use512 { get; set; } = Vector512.IsHardwareAccelerated;

        public static Vector512<float> Erf(Vector512<float> x)
        {
            static Vector512<float> C(float v) => Vector512.Create(v);
            var z = Vector512.Abs(x);
            var t = Vector512<float>.One / (Vector512<float>.One + 0.5f * z);
            var p = t * (C(-0.82215223f) + t * 0.17087277f);
            p = t * (C(1.48851587f) + p);
            p = t * (C(-1.13520398f) + p);
            p = t * (C(0.27886807f) + p);
            p = t * (C(-0.18628806f) + p);
            p = t * (C(0.09678418f) + p);
            p = t * (C(0.37409196f) + p);
            p = t * (C(1.00002368f) + p);
            var e = Vector512<float>.One - t * Vector512.Exp(-z * z - C(1.26551223f) + p);
            return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), e, -e);
        }

        public static Vector256<float> Erf(Vector256<float> x)
        {
            static Vector256<float> C(float v) => Vector256.Create(v);
            var z = Vector256.Abs(x);
            var t = Vector256<float>.One / (Vector256<float>.One + 0.5f * z);
            var p = t * (C(-0.82215223f) + t * 0.17087277f);
            p = t * (C(1.48851587f) + p);
            p = t * (C(-1.13520398f) + p);
            p = t * (C(0.27886807f) + p);
            p = t * (C(-0.18628806f) + p);
            p = t * (C(0.09678418f) + p);
            p = t * (C(0.37409196f) + p);
            p = t * (C(1.00002368f) + p);
            var e = Vector256<float>.One - t * Vector256.Exp(-z * z - C(1.26551223f) + p);
            return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), e, -e);
        }
    }
}

namespace Sifa.Tensors.Cpu
{
    public sealed partial class CpuBackend
    {
        // Dense spans: the op's SIMD version when it has one, else its scalar maths (inlined: TOp is a struct).
        // The `is` test folds away per instantiation; the interface call boxes once per chunk, not per element.
        private static void MapSpan<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryOp
        {
            if (op is ISpanUnaryOp simd) { simd.ApplySpan(x, y); return; }
            for (int i = 0; i < x.Length; i++) y[i] = op.Apply(x[i]);
        }

        private static void ZipSpan<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IBinaryOp
        {
            if (op is ISpanBinaryOp simd) { simd.ApplySpan(a, b, y); return; }
            for (int i = 0; i < a.Length; i++) y[i] = op.Apply(a[i], b[i]);
        }

        /// <inheritdoc/>
        public Tensor Map<TOp>(Tensor x, TOp op, Tensor? dst = null) where TOp : struct, IUnaryOp
        {
            if (dst != null && (!dst.IsContiguous || !dst.Shape.AsSpan().SequenceEqual(x.Shape)))
                throw new ArgumentException($"destination {Tensor.Fmt(dst.Shape)} must be dense with the input's shape {Tensor.Fmt(x.Shape)}");
            x = x.Contiguous();
            var y = dst ?? Tensor.Empty(x.Shape);
            var xs = Data(x); var ys = Data(y);
            int off = x.Offset, yo = y.Offset;
            CpuParallel.ForChunks(x.Numel, (s, e) => MapSpan(op, xs.AsSpan(off + s, e - s), ys.AsSpan(yo + s, e - s)), x.Numel * 4L);
            return y;
        }

        /// <inheritdoc/>
        public Tensor Zip<TOp>(Tensor a, Tensor b, TOp op, Tensor? dst = null) where TOp : struct, IBinaryOp
        {
            var shape = Tensor.BroadcastShapes(a.Shape, b.Shape);
            var y = dst ?? Tensor.Empty(shape);
            if (!y.IsContiguous || !y.Shape.AsSpan().SequenceEqual(shape))
                throw new ArgumentException($"destination {Tensor.Fmt(y.Shape)} must be dense with the broadcast shape {Tensor.Fmt(shape)}");
            var ad = Data(a); var bd = Data(b); var yd = Data(y);
            int yo = y.Offset;
            if (a.IsContiguous && b.IsContiguous && a.Numel == y.Numel && b.Numel == y.Numel)
            {
                int ao = a.Offset, bo = b.Offset;
                CpuParallel.ForChunks(y.Numel, (s, e) => ZipSpan(op, ad.AsSpan(ao + s, e - s), bd.AsSpan(bo + s, e - s), yd.AsSpan(yo + s, e - s)), y.Numel * 2L);
                return y;
            }
            var ae = a.Expand(shape); var be = b.Expand(shape);
            var lay = new StridedLayout(shape, ae.Strides, be.Strides, y.Strides);
            int inner = lay.Inner, sa = lay.InnerStride(0), sb = lay.InnerStride(1);
            CpuParallel.For(lay.Outer, r =>
            {
                int ao = ae.Offset + lay.RunOffset(0, r), bo = be.Offset + lay.RunOffset(1, r), o = yo + lay.RunOffset(2, r);
                if (sa == 1 && sb == 1) { ZipSpan(op, ad.AsSpan(ao, inner), bd.AsSpan(bo, inner), yd.AsSpan(o, inner)); return; }
                if (sa == 1 && sb == 0) { float bv = bd[bo]; for (int i = 0; i < inner; i++) yd[o + i] = op.Apply(ad[ao + i], bv); return; }
                if (sa == 0 && sb == 1) { float av = ad[ao]; for (int i = 0; i < inner; i++) yd[o + i] = op.Apply(av, bd[bo + i]); return; }
                for (int i = 0; i < inner; i++) yd[o + i] = op.Apply(ad[ao + i * sa], bd[bo + i * sb]);
            }, (long)y.Numel * 2);
            return y;
        }
    }
}
