using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// Four-row tiles for the last row panel of a product whose M leaves 4 rows (M ≡ 4 mod 6: 64, 256, 1024 and most
// channel counts). The full 6-row kernels would compute two rows of zeros into a scratch tile and merge it: a third of
// that panel's multiply-adds wasted (3 % of a 64-row product) plus a copy. These read the same 6-wide packed A panel
// and write C directly with the same alpha/beta rule (beta = 0 never reads C).
internal static unsafe partial class MicroKernel
{
    /// <summary>C[0..4, 0..16) = alpha · Ap·Bp + beta · C, Ap a packed 6-row panel of which rows 0..4 are used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx2Fma4x16(int kc, float* a, float* b, float* c, long ldc, float* alphaBeta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NR)
        {
            var b0 = Avx.LoadAlignedVector256(b);
            var b1 = Avx.LoadAlignedVector256(b + 8);
            var av = Vector256.Create(a[0]);
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
        }
        float beta = alphaBeta[1];
        var va = Vector256.Create(alphaBeta[0]);
        if (beta == 0)
        {
            Store(c, va * c00, va * c01);
            Store(c + ldc, va * c10, va * c11);
            Store(c + 2 * ldc, va * c20, va * c21);
            Store(c + 3 * ldc, va * c30, va * c31);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Update(c, c00, c01, va, vb);
            Update(c + ldc, c10, c11, va, vb);
            Update(c + 2 * ldc, c20, c21, va, vb);
            Update(c + 3 * ldc, c30, c31, va, vb);
        }
    }

    /// <summary>C[0..4, 0..32) = alpha · Ap·Bp + beta · C, Ap a packed 6-row panel of which rows 0..4 are used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Fma4x32(int kc, float* a, float* b, float* c, long ldc, float* alphaBeta)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NR512)
        {
            var b0 = Avx512F.LoadAlignedVector512(b);
            var b1 = Avx512F.LoadAlignedVector512(b + 16);
            var av = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
        }
        float beta = alphaBeta[1];
        var va = Vector512.Create(alphaBeta[0]);
        if (beta == 0)
        {
            Store512(c, va * c00, va * c01);
            Store512(c + ldc, va * c10, va * c11);
            Store512(c + 2 * ldc, va * c20, va * c21);
            Store512(c + 3 * ldc, va * c30, va * c31);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Update512(c, c00, c01, va, vb);
            Update512(c + ldc, c10, c11, va, vb);
            Update512(c + 2 * ldc, c20, c21, va, vb);
            Update512(c + 3 * ldc, c30, c31, va, vb);
        }
    }
}
