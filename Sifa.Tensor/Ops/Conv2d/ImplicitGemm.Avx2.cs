using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// The AVX2 kernels of ImplicitGemm: the same loops as ImplicitGemm.Avx512.cs on a 6 × 16 tile of 12 ymm accumulators.
internal static unsafe partial class ImplicitGemm
{
    private const int Nr256 = 16;

    // C[0..6, 0..16) (+)= Σ_k A[r, k] · x[off[k] + j].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* x, int* off, float* c, bool accumulate)
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
        for (int k = 0; k < kc; k++)
        {
            float* b = x + off[k];
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var av = Vector256.Create(a[0]);
            c0_0 = Fma.MultiplyAdd(av, b0, c0_0);
            c0_1 = Fma.MultiplyAdd(av, b1, c0_1);
            av = Vector256.Create(a[1]);
            c1_0 = Fma.MultiplyAdd(av, b0, c1_0);
            c1_1 = Fma.MultiplyAdd(av, b1, c1_1);
            av = Vector256.Create(a[2]);
            c2_0 = Fma.MultiplyAdd(av, b0, c2_0);
            c2_1 = Fma.MultiplyAdd(av, b1, c2_1);
            av = Vector256.Create(a[3]);
            c3_0 = Fma.MultiplyAdd(av, b0, c3_0);
            c3_1 = Fma.MultiplyAdd(av, b1, c3_1);
            av = Vector256.Create(a[4]);
            c4_0 = Fma.MultiplyAdd(av, b0, c4_0);
            c4_1 = Fma.MultiplyAdd(av, b1, c4_1);
            av = Vector256.Create(a[5]);
            c5_0 = Fma.MultiplyAdd(av, b0, c5_0);
            c5_1 = Fma.MultiplyAdd(av, b1, c5_1);
            a += MR;
        }
        Avx.StoreAligned(c + 0 * Nr256, c0_0); Avx.StoreAligned(c + 0 * Nr256 + 8, c0_1);
        Avx.StoreAligned(c + 1 * Nr256, c1_0); Avx.StoreAligned(c + 1 * Nr256 + 8, c1_1);
        Avx.StoreAligned(c + 2 * Nr256, c2_0); Avx.StoreAligned(c + 2 * Nr256 + 8, c2_1);
        Avx.StoreAligned(c + 3 * Nr256, c3_0); Avx.StoreAligned(c + 3 * Nr256 + 8, c3_1);
        Avx.StoreAligned(c + 4 * Nr256, c4_0); Avx.StoreAligned(c + 4 * Nr256 + 8, c4_1);
        Avx.StoreAligned(c + 5 * Nr256, c5_0); Avx.StoreAligned(c + 5 * Nr256 + 8, c5_1);
    }

    // C[0..rows, 0..16) += Σ_{oh, ow} s_r[oh·Wp + ow] · B[(oh·Wo + ow)·ldb + j].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientKernel6x16(float** s, int wp, int wo, int oh0, int oh1, float* b, int ldb, float* c, int rows)
    {
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        float* s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5];
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* bq = b + (long)oh * wo * ldb;
            int q = oh * wp, end = q + wo;
            for (; q < end; q++, bq += ldb)
            {
                var b0 = Avx.LoadAlignedVector256(bq);
                var b1 = Avx.LoadAlignedVector256(bq + 8);
                var av = Vector256.Create(s0[q]);
                c0_0 = Fma.MultiplyAdd(av, b0, c0_0);
                c0_1 = Fma.MultiplyAdd(av, b1, c0_1);
                av = Vector256.Create(s1[q]);
                c1_0 = Fma.MultiplyAdd(av, b0, c1_0);
                c1_1 = Fma.MultiplyAdd(av, b1, c1_1);
                av = Vector256.Create(s2[q]);
                c2_0 = Fma.MultiplyAdd(av, b0, c2_0);
                c2_1 = Fma.MultiplyAdd(av, b1, c2_1);
                av = Vector256.Create(s3[q]);
                c3_0 = Fma.MultiplyAdd(av, b0, c3_0);
                c3_1 = Fma.MultiplyAdd(av, b1, c3_1);
                av = Vector256.Create(s4[q]);
                c4_0 = Fma.MultiplyAdd(av, b0, c4_0);
                c4_1 = Fma.MultiplyAdd(av, b1, c4_1);
                av = Vector256.Create(s5[q]);
                c5_0 = Fma.MultiplyAdd(av, b0, c5_0);
                c5_1 = Fma.MultiplyAdd(av, b1, c5_1);
            }
        }
        AddRow(c, c0_0, c0_1);
        if (rows > 1) AddRow(c + ldb, c1_0, c1_1);
        if (rows > 2) AddRow(c + 2L * ldb, c2_0, c2_1);
        if (rows > 3) AddRow(c + 3L * ldb, c3_0, c3_1);
        if (rows > 4) AddRow(c + 4L * ldb, c4_0, c4_1);
        if (rows > 5) AddRow(c + 5L * ldb, c5_0, c5_1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector256<float> v0, Vector256<float> v1)
    {
        Avx.StoreAligned(c, Avx.LoadAlignedVector256(c) + v0);
        Avx.StoreAligned(c + 8, Avx.LoadAlignedVector256(c + 8) + v1);
    }
}
