using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// The AVX-512 micro-kernel of Sgemm (generated shape: 6 rows × 2 zmm; see MicroKernel.cs for the AVX2 one).
internal static unsafe partial class MicroKernel
{
    /// <summary>Columns of the AVX-512 register tile (values of B per k-step).</summary>
    public const int NR512 = 32;

    /// <summary>
    /// The AVX-512 kernel: C[0..6, 0..32) = alpha · Ap·Bp + beta · C with the same contract as <see cref="Avx2Fma6x16"/>
    /// but 32 values of B per k-step (two zmm, Bp 64-byte aligned) and 12 zmm accumulators. The A panel is the same
    /// 6-row layout, so a packed op(A) serves both paths. Written out in full (generated, no loops over registers) so the JIT keeps
    /// every accumulator in a register and folds each broadcast of A into the FMA (embedded broadcast).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Fma6x32(int kc, float* a, float* b, float* c, long ldc, float* alphaBeta)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        Vector512<float> b0, b1;
        for (int r = 0; r < 6; r++)
        {
            Sse.Prefetch0(c + r * ldc + 0);
            Sse.Prefetch0(c + r * ldc + 16);
            Sse.Prefetch0(c + r * ldc + 31);
        }
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            b0 = Avx512F.LoadAlignedVector512(b + 0);
            b1 = Avx512F.LoadAlignedVector512(b + 16);
            { var av = Vector512.Create(a[0]);
              c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
              c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1); }
            { var av = Vector512.Create(a[1]);
              c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
              c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1); }
            { var av = Vector512.Create(a[2]);
              c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
              c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1); }
            { var av = Vector512.Create(a[3]);
              c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
              c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1); }
            { var av = Vector512.Create(a[4]);
              c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
              c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1); }
            { var av = Vector512.Create(a[5]);
              c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
              c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1); }
            b0 = Avx512F.LoadAlignedVector512(b + 32);
            b1 = Avx512F.LoadAlignedVector512(b + 48);
            { var av = Vector512.Create(a[6]);
              c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
              c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1); }
            { var av = Vector512.Create(a[7]);
              c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
              c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1); }
            { var av = Vector512.Create(a[8]);
              c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
              c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1); }
            { var av = Vector512.Create(a[9]);
              c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
              c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1); }
            { var av = Vector512.Create(a[10]);
              c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
              c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1); }
            { var av = Vector512.Create(a[11]);
              c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
              c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1); }
            b0 = Avx512F.LoadAlignedVector512(b + 64);
            b1 = Avx512F.LoadAlignedVector512(b + 80);
            { var av = Vector512.Create(a[12]);
              c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
              c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1); }
            { var av = Vector512.Create(a[13]);
              c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
              c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1); }
            { var av = Vector512.Create(a[14]);
              c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
              c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1); }
            { var av = Vector512.Create(a[15]);
              c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
              c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1); }
            { var av = Vector512.Create(a[16]);
              c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
              c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1); }
            { var av = Vector512.Create(a[17]);
              c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
              c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1); }
            b0 = Avx512F.LoadAlignedVector512(b + 96);
            b1 = Avx512F.LoadAlignedVector512(b + 112);
            { var av = Vector512.Create(a[18]);
              c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
              c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1); }
            { var av = Vector512.Create(a[19]);
              c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
              c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1); }
            { var av = Vector512.Create(a[20]);
              c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
              c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1); }
            { var av = Vector512.Create(a[21]);
              c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
              c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1); }
            { var av = Vector512.Create(a[22]);
              c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
              c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1); }
            { var av = Vector512.Create(a[23]);
              c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
              c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1); }
            a += 24;
            b += 128;
        }
        for (; p < kc; p++)
        {
            b0 = Avx512F.LoadAlignedVector512(b + 0);
            b1 = Avx512F.LoadAlignedVector512(b + 16);
            { var av = Vector512.Create(a[0]);
              c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
              c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1); }
            { var av = Vector512.Create(a[1]);
              c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
              c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1); }
            { var av = Vector512.Create(a[2]);
              c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
              c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1); }
            { var av = Vector512.Create(a[3]);
              c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
              c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1); }
            { var av = Vector512.Create(a[4]);
              c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
              c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1); }
            { var av = Vector512.Create(a[5]);
              c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
              c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1); }
            a += 6;
            b += 32;
        }
        float beta = alphaBeta[1];
        var va = Vector512.Create(alphaBeta[0]);
        if (beta == 0)
        {
            Store512(c, va * c0_0, va * c0_1);
            Store512(c + ldc, va * c1_0, va * c1_1);
            Store512(c + 2 * ldc, va * c2_0, va * c2_1);
            Store512(c + 3 * ldc, va * c3_0, va * c3_1);
            Store512(c + 4 * ldc, va * c4_0, va * c4_1);
            Store512(c + 5 * ldc, va * c5_0, va * c5_1);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Update512(c, c0_0, c0_1, va, vb);
            Update512(c + ldc, c1_0, c1_1, va, vb);
            Update512(c + 2 * ldc, c2_0, c2_1, va, vb);
            Update512(c + 3 * ldc, c3_0, c3_1, va, vb);
            Update512(c + 4 * ldc, c4_0, c4_1, va, vb);
            Update512(c + 5 * ldc, c5_0, c5_1, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        Avx512F.Store(c, x0);
        Avx512F.Store(c + 16, x1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update512(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> vb)
    {
        Avx512F.Store(c, Avx512F.FusedMultiplyAdd(va, x0, vb * Avx512F.LoadVector512(c)));
        Avx512F.Store(c + 16, Avx512F.FusedMultiplyAdd(va, x1, vb * Avx512F.LoadVector512(c + 16)));
    }
}
