using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sifa.Tensors.Cpu;

/// <summary>Fused row kernels that TensorPrimitives has no single call for (two accumulators, three operands), and short-run copies.</summary>
internal static class SimdMath
{
    // Rows are reduced in float SIMD over chunks of this many elements, the chunk sums added in double.
    private const int Chunk = 1024;

    /// <summary>Σ x with float SIMD partial sums over 1024-element chunks accumulated in double.</summary>
    public static double SumDouble(ReadOnlySpan<float> x)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i += Chunk) s += System.Numerics.Tensors.TensorPrimitives.Sum(x.Slice(i, Math.Min(Chunk, x.Length - i)));
        return s;
    }

    /// <summary>Σ (x − m)² with chunk sums accumulated in double.</summary>
    public static double SumSqDiffDouble(ReadOnlySpan<float> x, float m)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i += Chunk) s += SumSqDiff(x.Slice(i, Math.Min(Chunk, x.Length - i)), m);
        return s;
    }

    /// <summary>Σ dy and Σ dy·(x − m) with chunk sums accumulated in double.</summary>
    public static void SumDyAndDyXmuDouble(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, out double sumDy, out double sumDyXmu)
    {
        double a = 0, b = 0;
        for (int i = 0; i < dy.Length; i += Chunk)
        {
            int n = Math.Min(Chunk, dy.Length - i);
            SumDyAndDyXmu(dy.Slice(i, n), x.Slice(i, n), m, out float p, out float q);
            a += p; b += q;
        }
        sumDy = a;
        sumDyXmu = b;
    }

    /// <summary>Σ (x − m)².</summary>
    public static float SumSqDiff(ReadOnlySpan<float> x, float m)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        float s = 0;
        if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            var vm = Vector256.Create(m);
            Vector256<float> a0 = default, a1 = default;
            for (; i <= n - 16; i += 16)
            {
                var d0 = Vector256.LoadUnsafe(ref px, (nuint)i) - vm;
                var d1 = Vector256.LoadUnsafe(ref px, (nuint)(i + 8)) - vm;
                a0 = Vector256.MultiplyAddEstimate(d0, d0, a0);
                a1 = Vector256.MultiplyAddEstimate(d1, d1, a1);
            }
            s = Vector256.Sum(a0 + a1);
        }
        for (; i < n; i++) { float d = Unsafe.Add(ref px, i) - m; s += d * d; }
        return s;
    }

    /// <summary>Σ dy and Σ dy·(x − m) in one pass.</summary>
    public static void SumDyAndDyXmu(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float m, out float sumDy, out float sumDyXmu)
    {
        ref float pd = ref MemoryMarshal.GetReference(dy);
        ref float px = ref MemoryMarshal.GetReference(x);
        int n = dy.Length, i = 0;
        float s0 = 0, s1 = 0;
        if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            var vm = Vector256.Create(m);
            Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default;
            for (; i <= n - 16; i += 16)
            {
                var g0 = Vector256.LoadUnsafe(ref pd, (nuint)i);
                var g1 = Vector256.LoadUnsafe(ref pd, (nuint)(i + 8));
                a0 += g0; a1 += g1;
                b0 = Vector256.MultiplyAddEstimate(g0, Vector256.LoadUnsafe(ref px, (nuint)i) - vm, b0);
                b1 = Vector256.MultiplyAddEstimate(g1, Vector256.LoadUnsafe(ref px, (nuint)(i + 8)) - vm, b1);
            }
            s0 = Vector256.Sum(a0 + a1);
            s1 = Vector256.Sum(b0 + b1);
        }
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref pd, i);
            s0 += g;
            s1 += g * (Unsafe.Add(ref px, i) - m);
        }
        sumDy = s0;
        sumDyXmu = s1;
    }

    /// <summary>dst = x·a + b with scalars (dst may alias x).</summary>
    public static void ScaleShift(ReadOnlySpan<float> x, float a, float b, Span<float> dst)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pd = ref MemoryMarshal.GetReference(dst);
        int n = dst.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a); var vb = Vector256.Create(b);
            for (; i <= n - 16; i += 16)
            {
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref px, (nuint)i), va, vb).StoreUnsafe(ref pd, (nuint)i);
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref px, (nuint)(i + 8)), va, vb).StoreUnsafe(ref pd, (nuint)(i + 8));
            }
            for (; i <= n - 8; i += 8)
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref px, (nuint)i), va, vb).StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref pd, i) = Unsafe.Add(ref px, i) * a + b;
    }

    /// <summary>dst = a·p + b·q + c (dst may alias p or q).</summary>
    public static void Affine2(ReadOnlySpan<float> p, float a, ReadOnlySpan<float> q, float b, float c, Span<float> dst)
    {
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float pq = ref MemoryMarshal.GetReference(q);
        ref float pd = ref MemoryMarshal.GetReference(dst);
        int n = dst.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a); var vb = Vector256.Create(b); var vc = Vector256.Create(c);
            for (; i <= n - 8; i += 8)
            {
                var r = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref pq, (nuint)i), vb, vc);
                Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref pp, (nuint)i), va, r).StoreUnsafe(ref pd, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref pd, i) = Unsafe.Add(ref pp, i) * a + Unsafe.Add(ref pq, i) * b + c;
    }

    // Short runs (an output row's part of a convolution chunk or tile, often 10–60 floats): plain vector loops without
    // the span and dispatch overhead of the library calls. Vector stores also keep the store buffer from filling when
    // the destination lines are not cached yet.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void CopyRun(float* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void ZeroRun(float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256<float>.Zero, dst + i);
        for (; i < n; i++) dst[i] = 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void AddRun(float* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(dst + i) + Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] += src[i];
    }
}
