using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// The register-blocked inner kernels of <see cref="Sgemm"/>: a 6×16 tile of C kept in 12 ymm accumulators
/// while walking the packed panels of A (6 values per k-step) and B (16 values per k-step).
/// 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm registers of AVX2; each k-step does 12 FMAs
/// against 8 loads, which keeps both FMA ports busy.
/// </summary>
internal static unsafe partial class MicroKernel
{
    /// <summary>Rows of the register tile (values of A per k-step).</summary>
    public const int MR = 6;

    /// <summary>Columns of the register tile (values of B per k-step).</summary>
    public const int NR = 16;

    /// <summary>The widest tile of any path (scratch buffers for edge tiles are sized by it).</summary>
    public const int MaxNR = 32;

    /// <summary>
    /// C[0..6, 0..16) = alpha · Ap·Bp + beta · C (beta = 0 never reads C). Ap is a packed 6×kc panel
    /// (k-major, 6 values per step), Bp a packed kc×16 panel (16 values per step, 32-byte aligned).
    /// alpha and beta are read from <paramref name="alphaBeta"/>[0..2) after the loop: passed as float arguments
    /// they would stay live in two vector registers across the loop, pushing the broadcast into an EVEX-only
    /// register (or a spill without AVX-512), which measured ~15% slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx2Fma6x16(int kc, float* a, float* b, float* c, long ldc, float* alphaBeta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector256<float> b0, b1, av;
        // Fetch the C tile now so its (likely L3) misses overlap the k-loop instead of stalling the final update.
        for (int r = 0; r < MR; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            Sse.Prefetch0(c + r * ldc + NR - 1);
        }
        int p = 0;
        // Unrolled by 4 so the loop counter and pointer bumps are amortised over 48 FMAs.
        for (; p + 4 <= kc; p += 4)
        {
                b0 = Avx.LoadAlignedVector256(b + 0);
                b1 = Avx.LoadAlignedVector256(b + 8);
                av = Vector256.Create(a[0]);
                c00 = Fma.MultiplyAdd(av, b0, c00);
                c01 = Fma.MultiplyAdd(av, b1, c01);
                av = Vector256.Create(a[1]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                av = Vector256.Create(a[2]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                av = Vector256.Create(a[3]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                av = Vector256.Create(a[4]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
                av = Vector256.Create(a[5]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
                b0 = Avx.LoadAlignedVector256(b + 16);
                b1 = Avx.LoadAlignedVector256(b + 24);
                av = Vector256.Create(a[6]);
                c00 = Fma.MultiplyAdd(av, b0, c00);
                c01 = Fma.MultiplyAdd(av, b1, c01);
                av = Vector256.Create(a[7]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                av = Vector256.Create(a[8]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                av = Vector256.Create(a[9]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                av = Vector256.Create(a[10]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
                av = Vector256.Create(a[11]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
                b0 = Avx.LoadAlignedVector256(b + 32);
                b1 = Avx.LoadAlignedVector256(b + 40);
                av = Vector256.Create(a[12]);
                c00 = Fma.MultiplyAdd(av, b0, c00);
                c01 = Fma.MultiplyAdd(av, b1, c01);
                av = Vector256.Create(a[13]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                av = Vector256.Create(a[14]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                av = Vector256.Create(a[15]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                av = Vector256.Create(a[16]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
                av = Vector256.Create(a[17]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
                b0 = Avx.LoadAlignedVector256(b + 48);
                b1 = Avx.LoadAlignedVector256(b + 56);
                av = Vector256.Create(a[18]);
                c00 = Fma.MultiplyAdd(av, b0, c00);
                c01 = Fma.MultiplyAdd(av, b1, c01);
                av = Vector256.Create(a[19]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                av = Vector256.Create(a[20]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                av = Vector256.Create(a[21]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                av = Vector256.Create(a[22]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
                av = Vector256.Create(a[23]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
            a += 4 * MR;
            b += 4 * NR;
        }
        for (; p < kc; p++)
        {
                b0 = Avx.LoadAlignedVector256(b + 0);
                b1 = Avx.LoadAlignedVector256(b + 8);
                av = Vector256.Create(a[0]);
                c00 = Fma.MultiplyAdd(av, b0, c00);
                c01 = Fma.MultiplyAdd(av, b1, c01);
                av = Vector256.Create(a[1]);
                c10 = Fma.MultiplyAdd(av, b0, c10);
                c11 = Fma.MultiplyAdd(av, b1, c11);
                av = Vector256.Create(a[2]);
                c20 = Fma.MultiplyAdd(av, b0, c20);
                c21 = Fma.MultiplyAdd(av, b1, c21);
                av = Vector256.Create(a[3]);
                c30 = Fma.MultiplyAdd(av, b0, c30);
                c31 = Fma.MultiplyAdd(av, b1, c31);
                av = Vector256.Create(a[4]);
                c40 = Fma.MultiplyAdd(av, b0, c40);
                c41 = Fma.MultiplyAdd(av, b1, c41);
                av = Vector256.Create(a[5]);
                c50 = Fma.MultiplyAdd(av, b0, c50);
                c51 = Fma.MultiplyAdd(av, b1, c51);
            a += MR;
            b += NR;
        }

        Finish(c, ldc, alphaBeta, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>Writes the 6×16 accumulators: C = alpha·acc (beta = 0, C not read) or alpha·acc + beta·C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(float* c, long ldc, float* alphaBeta,
        Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11,
        Vector256<float> c20, Vector256<float> c21, Vector256<float> c30, Vector256<float> c31,
        Vector256<float> c40, Vector256<float> c41, Vector256<float> c50, Vector256<float> c51)
    {
        float beta = alphaBeta[1];
        var va = Vector256.Create(alphaBeta[0]);
        if (beta == 0)
        {
            // beta = 0: C's old contents (possibly NaN or garbage) are never read.
            Store(c, va * c00, va * c01);
            Store(c + ldc, va * c10, va * c11);
            Store(c + 2 * ldc, va * c20, va * c21);
            Store(c + 3 * ldc, va * c30, va * c31);
            Store(c + 4 * ldc, va * c40, va * c41);
            Store(c + 5 * ldc, va * c50, va * c51);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Update(c, c00, c01, va, vb);
            Update(c + ldc, c10, c11, va, vb);
            Update(c + 2 * ldc, c20, c21, va, vb);
            Update(c + 3 * ldc, c30, c31, va, vb);
            Update(c + 4 * ldc, c40, c41, va, vb);
            Update(c + 5 * ldc, c50, c51, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> x0, Vector256<float> x1)
    {
        Avx.Store(c, x0);
        Avx.Store(c + 8, x1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> vb)
    {
        Avx.Store(c, Fma.MultiplyAdd(va, x0, vb * Avx.LoadVector256(c)));
        Avx.Store(c + 8, Fma.MultiplyAdd(va, x1, vb * Avx.LoadVector256(c + 8)));
    }

    /// <summary>Portable fallback of <see cref="Avx2Fma6x16"/> for CPUs without AVX2/FMA: same packed layout, scalar arithmetic.</summary>
    public static void Scalar6x16(int kc, float* a, float* b, float* c, long ldc, float* alphaBeta)
    {
        float alpha = alphaBeta[0], beta = alphaBeta[1];
        float* acc = stackalloc float[MR * NR];
        new Span<float>(acc, MR * NR).Clear();
        for (int p = 0; p < kc; p++, a += MR, b += NR)
            for (int r = 0; r < MR; r++)
            {
                float ar = a[r];
                float* row = acc + r * NR;
                for (int j = 0; j < NR; j++) row[j] += ar * b[j];
            }
        for (int r = 0; r < MR; r++)
        {
            float* cr = c + r * ldc, row = acc + r * NR;
            if (beta == 0) for (int j = 0; j < NR; j++) cr[j] = alpha * row[j];
            else for (int j = 0; j < NR; j++) cr[j] = alpha * row[j] + beta * cr[j];
        }
    }
}
