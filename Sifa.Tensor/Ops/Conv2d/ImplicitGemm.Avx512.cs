using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// The AVX-512 kernels of ImplicitGemm: a 6 × 32 tile, 12 zmm accumulators (the AVX2 ones are ImplicitGemm.Avx2.cs).
internal static unsafe partial class ImplicitGemm
{
    private const int Nr512 = 32;

    // C[0..6, 0..32) (+)= Σ_k A[r, k] · x[off[k] + j]: 12 zmm accumulators, two unaligned loads of B per k-step.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x32(int kc, float* a, float* x, int* off, float* c, bool accumulate)
    {
        Vector512<float> c0_0, c0_1, c1_0, c1_1, c2_0, c2_1, c3_0, c3_1, c4_0, c4_1, c5_0, c5_1;
        if (accumulate)
        {
            c0_0 = Avx512F.LoadAlignedVector512(c + 0 * Nr512); c0_1 = Avx512F.LoadAlignedVector512(c + 0 * Nr512 + 16);
            c1_0 = Avx512F.LoadAlignedVector512(c + 1 * Nr512); c1_1 = Avx512F.LoadAlignedVector512(c + 1 * Nr512 + 16);
            c2_0 = Avx512F.LoadAlignedVector512(c + 2 * Nr512); c2_1 = Avx512F.LoadAlignedVector512(c + 2 * Nr512 + 16);
            c3_0 = Avx512F.LoadAlignedVector512(c + 3 * Nr512); c3_1 = Avx512F.LoadAlignedVector512(c + 3 * Nr512 + 16);
            c4_0 = Avx512F.LoadAlignedVector512(c + 4 * Nr512); c4_1 = Avx512F.LoadAlignedVector512(c + 4 * Nr512 + 16);
            c5_0 = Avx512F.LoadAlignedVector512(c + 5 * Nr512); c5_1 = Avx512F.LoadAlignedVector512(c + 5 * Nr512 + 16);
        }
        else
        {
            c0_0 = c0_1 = c1_0 = c1_1 = c2_0 = c2_1 = c3_0 = c3_1 = c4_0 = c4_1 = c5_0 = c5_1 = Vector512<float>.Zero;
        }
        for (int k = 0; k < kc; k++)
        {
            float* b = x + off[k];
            var b0 = Avx512F.LoadVector512(b);
            var b1 = Avx512F.LoadVector512(b + 16);
            var av = Vector512.Create(a[0]);
            c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
            c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1);
            av = Vector512.Create(a[1]);
            c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
            c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1);
            av = Vector512.Create(a[2]);
            c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
            c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1);
            av = Vector512.Create(a[3]);
            c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
            c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1);
            av = Vector512.Create(a[4]);
            c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
            c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1);
            av = Vector512.Create(a[5]);
            c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
            c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1);
            a += MR;
        }
        Avx512F.StoreAligned(c + 0 * Nr512, c0_0); Avx512F.StoreAligned(c + 0 * Nr512 + 16, c0_1);
        Avx512F.StoreAligned(c + 1 * Nr512, c1_0); Avx512F.StoreAligned(c + 1 * Nr512 + 16, c1_1);
        Avx512F.StoreAligned(c + 2 * Nr512, c2_0); Avx512F.StoreAligned(c + 2 * Nr512 + 16, c2_1);
        Avx512F.StoreAligned(c + 3 * Nr512, c3_0); Avx512F.StoreAligned(c + 3 * Nr512 + 16, c3_1);
        Avx512F.StoreAligned(c + 4 * Nr512, c4_0); Avx512F.StoreAligned(c + 4 * Nr512 + 16, c4_1);
        Avx512F.StoreAligned(c + 5 * Nr512, c5_0); Avx512F.StoreAligned(c + 5 * Nr512 + 16, c5_1);
    }

    // C[0..rows, 0..32) += Σ_{oh, ow} s_r[oh·Wp + ow] · B[(oh·Wo + ow)·ldb + j].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientKernel6x32(float** s, int wp, int wo, int oh0, int oh1, float* b, int ldb, float* c, int rows)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        float* s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5];
        for (int oh = oh0; oh < oh1; oh++)
        {
            float* bq = b + (long)oh * wo * ldb;
            int q = oh * wp, end = q + wo;
            for (; q < end; q++, bq += ldb)
            {
                var b0 = Avx512F.LoadAlignedVector512(bq);
                var b1 = Avx512F.LoadAlignedVector512(bq + 16);
                var av = Vector512.Create(s0[q]);
                c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
                c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1);
                av = Vector512.Create(s1[q]);
                c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
                c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1);
                av = Vector512.Create(s2[q]);
                c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
                c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1);
                av = Vector512.Create(s3[q]);
                c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
                c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1);
                av = Vector512.Create(s4[q]);
                c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
                c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1);
                av = Vector512.Create(s5[q]);
                c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
                c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1);
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
    private static void AddRow(float* c, Vector512<float> v0, Vector512<float> v1)
    {
        Avx512F.StoreAligned(c, Avx512F.LoadAlignedVector512(c) + v0);
        Avx512F.StoreAligned(c + 16, Avx512F.LoadAlignedVector512(c + 16) + v1);
    }
}
