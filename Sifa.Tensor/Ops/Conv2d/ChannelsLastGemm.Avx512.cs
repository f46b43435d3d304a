using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// The AVX-512 kernels of ChannelsLastGemm: 6 × 32 tiles, 12 zmm accumulators, written out in full so that the JIT keeps
// every accumulator and stream pointer in a register.
internal static unsafe partial class ChannelsLastGemm
{
    private const int Nr512 = 32;

    // C[r, 0..32) (+)= Σ_{k < kc} s_r[k] · w[k·32 .. k·32 + 32): six positions' channel streams against a weight block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x32(int kc, float* s0, float* s1, float* s2, float* s3, float* s4, float* s5, float* w, float* c, bool accumulate)
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
        for (int k = 0; k < kc; k++, w += Nr512)
        {
            var b0 = Avx512F.LoadAlignedVector512(w);
            var b1 = Avx512F.LoadAlignedVector512(w + 16);
            var av = Vector512.Create(s0[k]);
            c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
            c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1);
            av = Vector512.Create(s1[k]);
            c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
            c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1);
            av = Vector512.Create(s2[k]);
            c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
            c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1);
            av = Vector512.Create(s3[k]);
            c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
            c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1);
            av = Vector512.Create(s4[k]);
            c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
            c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1);
            av = Vector512.Create(s5[k]);
            c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
            c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1);
        }
        Avx512F.StoreAligned(c + 0 * Nr512, c0_0); Avx512F.StoreAligned(c + 0 * Nr512 + 16, c0_1);
        Avx512F.StoreAligned(c + 1 * Nr512, c1_0); Avx512F.StoreAligned(c + 1 * Nr512 + 16, c1_1);
        Avx512F.StoreAligned(c + 2 * Nr512, c2_0); Avx512F.StoreAligned(c + 2 * Nr512 + 16, c2_1);
        Avx512F.StoreAligned(c + 3 * Nr512, c3_0); Avx512F.StoreAligned(c + 3 * Nr512 + 16, c3_1);
        Avx512F.StoreAligned(c + 4 * Nr512, c4_0); Avx512F.StoreAligned(c + 4 * Nr512 + 16, c4_1);
        Avx512F.StoreAligned(c + 5 * Nr512, c5_0); Avx512F.StoreAligned(c + 5 * Nr512 + 16, c5_1);
    }

    // o[r·ldo + 0..32) (+)= Σ_{i < n} d_r[i] · (origin + bases[i])[0..32) for the rows r < rows, d_r = d + r·ldd (a
    // short tile repeats its last row, whose sums are not stored).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientKernel6x32(int n, float* d, long ldd, int rows, int* bases, float* origin, float* o, long ldo, bool accumulate)
    {
        float* d0 = d, d1 = d + Math.Min(1, rows - 1) * ldd, d2 = d + Math.Min(2, rows - 1) * ldd;
        float* d3 = d + Math.Min(3, rows - 1) * ldd, d4 = d + Math.Min(4, rows - 1) * ldd, d5 = d + Math.Min(5, rows - 1) * ldd;
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (int i = 0; i < n; i++)
        {
            float* b = origin + bases[i];
            var b0 = Avx512F.LoadVector512(b);
            var b1 = Avx512F.LoadVector512(b + 16);
            var av = Vector512.Create(d0[i]);
            c0_0 = Avx512F.FusedMultiplyAdd(av, b0, c0_0);
            c0_1 = Avx512F.FusedMultiplyAdd(av, b1, c0_1);
            av = Vector512.Create(d1[i]);
            c1_0 = Avx512F.FusedMultiplyAdd(av, b0, c1_0);
            c1_1 = Avx512F.FusedMultiplyAdd(av, b1, c1_1);
            av = Vector512.Create(d2[i]);
            c2_0 = Avx512F.FusedMultiplyAdd(av, b0, c2_0);
            c2_1 = Avx512F.FusedMultiplyAdd(av, b1, c2_1);
            av = Vector512.Create(d3[i]);
            c3_0 = Avx512F.FusedMultiplyAdd(av, b0, c3_0);
            c3_1 = Avx512F.FusedMultiplyAdd(av, b1, c3_1);
            av = Vector512.Create(d4[i]);
            c4_0 = Avx512F.FusedMultiplyAdd(av, b0, c4_0);
            c4_1 = Avx512F.FusedMultiplyAdd(av, b1, c4_1);
            av = Vector512.Create(d5[i]);
            c5_0 = Avx512F.FusedMultiplyAdd(av, b0, c5_0);
            c5_1 = Avx512F.FusedMultiplyAdd(av, b1, c5_1);
        }
        StoreRow512(o, c0_0, c0_1, accumulate);
        if (rows > 1) StoreRow512(o + ldo, c1_0, c1_1, accumulate);
        if (rows > 2) StoreRow512(o + 2 * ldo, c2_0, c2_1, accumulate);
        if (rows > 3) StoreRow512(o + 3 * ldo, c3_0, c3_1, accumulate);
        if (rows > 4) StoreRow512(o + 4 * ldo, c4_0, c4_1, accumulate);
        if (rows > 5) StoreRow512(o + 5 * ldo, c5_0, c5_1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow512(float* o, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Avx512F.LoadVector512(o);
            v1 += Avx512F.LoadVector512(o + 16);
        }
        Avx512F.Store(o, v0);
        Avx512F.Store(o + 16, v1);
    }
}
