using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// The AVX2 kernels of ChannelsLastGemm: 6 × 16 tiles, 12 ymm accumulators (the AVX-512 ones, 6 × 32, are
// ChannelsLastGemm.Avx512.cs), written out in full so that the JIT keeps every accumulator in a register.
internal static unsafe partial class ChannelsLastGemm
{
    private const int Nr256 = 16;

    // C[r, 0..16) (+)= Σ_{k < kc} s_r[k] · w[k·16 .. k·16 + 16): six positions' channel streams against a weight block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* s0, float* s1, float* s2, float* s3, float* s4, float* s5, float* w, float* c, bool accumulate)
    {
        Vector256<float> c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1;
        if (accumulate)
        {
            c0_0 = Avx.LoadAlignedVector256(c + 0 * Nr256); c0_1 = Avx.LoadAlignedVector256(c + 0 * Nr256 + 8);
            c1_0 = Avx.LoadAlignedVector256(c + 1 * Nr256); c1_1 = Avx.LoadAlignedVector256(c + 1 * Nr256 + 8);
            c2_0 = Avx.LoadAlignedVector256(c + 2 * Nr256); c2_1 = Avx.LoadAlignedVector256(c + 2 * Nr256 + 8);
            c3_0 = Avx.LoadAlignedVector256(c + 3 * Nr256); c3_1 = Avx.LoadAlignedVector256(c + 3 * Nr256 + 8);
            c4_0 = Avx.LoadAlignedVector256(c + 4 * Nr256); c4_1 = Avx.LoadAlignedVector256(c + 4 * Nr256 + 8);
            c5_0 = Avx.LoadAlignedVector256(c + 5 * Nr256); c5_1 = Avx.LoadAlignedVector256(c + 5 * Nr256 + 8);
        }
        else
        {
            c0_0 = c0_1 = c1_0 = c1_1 = c2_0 = c2_1 = c3_0 = c3_1 = c4_0 = c4_1 = c5_0 = c5_1 = Vector256<float>.Zero;
        }
        for (int k = 0; k < kc; k++, w += Nr256)
        {
            var b0 = Avx.LoadAlignedVector256(w);
            var b1 = Avx.LoadAlignedVector256(w + 8);
            var av = Vector256.Create(s0[k]);
            c0_0 = Fma.MultiplyAdd(av, b0, c0_0);
            c0_1 = Fma.MultiplyAdd(av, b1, c0_1);
            av = Vector256.Create(s1[k]);
            c1_0 = Fma.MultiplyAdd(av, b0, c1_0);
            c1_1 = Fma.MultiplyAdd(av, b1, c1_1);
            av = Vector256.Create(s2[k]);
            c2_0 = Fma.MultiplyAdd(av, b0, c2_0);
            c2_1 = Fma.MultiplyAdd(av, b1, c2_1);
            av = Vector256.Create(s3[k]);
            c3_0 = Fma.MultiplyAdd(av, b0, c3_0);
            c3_1 = Fma.MultiplyAdd(av, b1, c3_1);
            av = Vector256.Create(s4[k]);
            c4_0 = Fma.MultiplyAdd(av, b0, c4_0);
            c4_1 = Fma.MultiplyAdd(av, b1, c4_1);
            av = Vector256.Create(s5[k]);
            c5_0 = Fma.MultiplyAdd(av, b0, c5_0);
            c5_1 = Fma.MultiplyAdd(av, b1, c5_1);
        }
        Avx.StoreAligned(c + 0 * Nr256, c0_0); Avx.StoreAligned(c + 0 * Nr256 + 8, c0_1);
        Avx.StoreAligned(c + 1 * Nr256, c1_0); Avx.StoreAligned(c + 1 * Nr256 + 8, c1_1);
        Avx.StoreAligned(c + 2 * Nr256, c2_0); Avx.StoreAligned(c + 2 * Nr256 + 8, c2_1);
        Avx.StoreAligned(c + 3 * Nr256, c3_0); Avx.StoreAligned(c + 3 * Nr256 + 8, c3_1);
        Avx.StoreAligned(c + 4 * Nr256, c4_0); Avx.StoreAligned(c + 4 * Nr256 + 8, c4_1);
        Avx.StoreAligned(c + 5 * Nr256, c5_0); Avx.StoreAligned(c + 5 * Nr256 + 8, c5_1);
    }

    // o[r·ldo + 0..16) (+)= Σ_{i < n} d_r[i] · (origin + bases[i])[0..16) for the rows r < rows, d_r = d + r·ldd (a
    // short tile repeats its last row, whose sums are not stored).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientKernel6x16(int n, float* d, long ldd, int rows, int* bases, float* origin, float* o, long ldo, bool accumulate)
    {
        float* d0 = d, d1 = d + Math.Min(1, rows - 1) * ldd, d2 = d + Math.Min(2, rows - 1) * ldd;
        float* d3 = d + Math.Min(3, rows - 1) * ldd, d4 = d + Math.Min(4, rows - 1) * ldd, d5 = d + Math.Min(5, rows - 1) * ldd;
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (int i = 0; i < n; i++)
        {
            float* b = origin + bases[i];
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Vector256.Create(d0[i]);
            c0_0 = Fma.MultiplyAdd(av, b0, c0_0);
            c0_1 = Fma.MultiplyAdd(av, b1, c0_1);
            av = Vector256.Create(d1[i]);
            c1_0 = Fma.MultiplyAdd(av, b0, c1_0);
            c1_1 = Fma.MultiplyAdd(av, b1, c1_1);
            av = Vector256.Create(d2[i]);
            c2_0 = Fma.MultiplyAdd(av, b0, c2_0);
            c2_1 = Fma.MultiplyAdd(av, b1, c2_1);
            av = Vector256.Create(d3[i]);
            c3_0 = Fma.MultiplyAdd(av, b0, c3_0);
            c3_1 = Fma.MultiplyAdd(av, b1, c3_1);
            av = Vector256.Create(d4[i]);
            c4_0 = Fma.MultiplyAdd(av, b0, c4_0);
            c4_1 = Fma.MultiplyAdd(av, b1, c4_1);
            av = Vector256.Create(d5[i]);
            c5_0 = Fma.MultiplyAdd(av, b0, c5_0);
            c5_1 = Fma.MultiplyAdd(av, b1, c5_1);
        }
        StoreRow256(o, c0_0, c0_1, accumulate);
        if (rows > 1) StoreRow256(o + ldo, c1_0, c1_1, accumulate);
        if (rows > 2) StoreRow256(o + 2 * ldo, c2_0, c2_1, accumulate);
        if (rows > 3) StoreRow256(o + 3 * ldo, c3_0, c3_1, accumulate);
        if (rows > 4) StoreRow256(o + 4 * ldo, c4_0, c4_1, accumulate);
        if (rows > 5) StoreRow256(o + 5 * ldo, c5_0, c5_1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow256(float* o, Vector256<float> v0, Vector256<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Avx.LoadVector256(o);
            v1 += Avx.LoadVector256(o + 8);
        }
        Avx.Store(o, v0);
        Avx.Store(o + 8, v1);
    }
}
