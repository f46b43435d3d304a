using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous, zero-padded panel layouts that
/// <see cref="MicroKernel"/> streams through. Transposition is resolved here, so the kernel only ever
/// sees one layout and the four (transA, transB) cases run at the same speed.
/// </summary>
internal static unsafe class Packing
{
    private const int MR = MicroKernel.MR;

    /// <summary>
    /// Packs rows [i0, i0+mc) and inner indices [p0, p0+kc) of op(A) into ⌈mc/6⌉ panels of 6·kc floats,
    /// panel layout [p][row]; rows past mc are zero. Writes nothing outside those panels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transA, float* a, long lda, int i0, int mc, int p0, int kc, float* dst)
    {
        if (transA)
        {
            PackATransposed(a + (long)p0 * lda + i0, lda, mc, kc, dst);
            return;
        }
        // A stored M×K: each panel gathers 6 rows.
        for (int ir = 0; ir < mc; ir += MR, dst += (long)MR * kc)
        {
            int mr = Math.Min(MR, mc - ir);
            float* src = a + (i0 + ir) * lda + p0;
            if (mr == MR && Avx.IsSupported) PackARows6(src, lda, kc, dst);
            else
                for (int p = 0; p < kc; p++)
                {
                    float* d = dst + p * MR;
                    for (int r = 0; r < MR; r++) d[r] = r < mr ? src[r * lda + p] : 0f;
                }
        }
    }

    /// <summary>
    /// A stored K×M: the 6 values of one k-step are contiguous in memory. Walking all k inside one panel touches
    /// a new row per step, and walking one row across all panels writes to many streams that share an L1 set
    /// (panel stride 6·kc·4 bytes is a multiple of 4 KiB); so this copies 8 rows at a time, panel by panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackATransposed(float* src, long lda, int mc, int kc, float* dst)
    {
        int full = mc / MR * MR;
        long panel = (long)MR * kc;
        for (int p0 = 0; p0 < kc; p0 += 8)
        {
            int p1 = Math.Min(kc, p0 + 8);
            float* d = dst + p0 * MR;
            int ir = 0;
            for (; ir < full; ir += MR, d += panel)
            {
                float* s = src + p0 * lda + ir, dd = d;
                for (int p = p0; p < p1; p++, s += lda, dd += MR)
                {
                    Unsafe.WriteUnaligned(dd, Unsafe.ReadUnaligned<Vector128<float>>(s));
                    Unsafe.WriteUnaligned(dd + 4, Unsafe.ReadUnaligned<long>(s + 4));
                }
            }
            if (ir < mc)
                for (int p = p0; p < p1; p++)
                    for (int r = 0; r < MR; r++) d[(p - p0) * MR + r] = ir + r < mc ? src[p * lda + ir + r] : 0f;
        }
    }

    /// <summary>6 row-major rows → [p][row] layout, 8 k-steps at a time through an 8×8 register transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackARows6(float* src, long lda, int kc, float* d)
    {
        int p = 0;
        var z = Vector256<float>.Zero;
        // Strictly less: the last chunk's 2 spilled floats then land in this panel's next k-step, which the
        // scalar tail rewrites, so nothing is written outside the panel (threads pack neighbouring panels).
        for (; p + 8 < kc; p += 8)
        {
            float* s = src + p;
            Transpose8x8(Avx.LoadVector256(s), Avx.LoadVector256(s + lda), Avx.LoadVector256(s + 2 * lda),
                Avx.LoadVector256(s + 3 * lda), Avx.LoadVector256(s + 4 * lda), Avx.LoadVector256(s + 5 * lda), z, z,
                out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
            // Each column holds 6 useful values + 2 zeros; storing in increasing order lets the next
            // store overwrite the 2 extra lanes (the last one spills into the next k-step).
            float* dd = d + p * MR;
            Avx.Store(dd, o0);
            Avx.Store(dd + 6, o1);
            Avx.Store(dd + 12, o2);
            Avx.Store(dd + 18, o3);
            Avx.Store(dd + 24, o4);
            Avx.Store(dd + 30, o5);
            Avx.Store(dd + 36, o6);
            Avx.Store(dd + 42, o7);
        }
        for (; p < kc; p++)
        {
            float* dd = d + p * MR;
            for (int r = 0; r < MR; r++) dd[r] = src[r * lda + p];
        }
    }

    /// <summary>
    /// <see cref="PackB"/> for a non-transposed B of whole panels (nc a multiple of NR), row by row: each of the kc rows
    /// is read as one contiguous run of nc floats and scattered to the panels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBRows(float* b, long ldb, int p0, int kc, int j0, int nc, float* dst, int NR)
    {
        long panel = (long)NR * kc;
        float* src = b + (long)p0 * ldb + j0;
        for (int p = 0; p < kc; p++, src += ldb)
        {
            float* d = dst + p * NR;
            if (NR == 32)
                for (int q = 0; q < nc; q += 32, d += panel)
                {
                    Avx512F.StoreAligned(d, Avx512F.LoadVector512(src + q));
                    Avx512F.StoreAligned(d + 16, Avx512F.LoadVector512(src + q + 16));
                }
            else
                for (int q = 0; q < nc; q += 16, d += panel)
                {
                    Avx.StoreAligned(d, Avx.LoadVector256(src + q));
                    Avx.StoreAligned(d + 8, Avx.LoadVector256(src + q + 8));
                }
        }
    }

    /// <summary>
    /// Packs inner indices [p0, p0+kc) and columns [j0, j0+nc) of op(B) into ⌈nc/NR⌉ panels of NR·kc floats
    /// (NR = 16 or 32, the kernel's width), panel layout [p][column]; columns past nc are zero.
    /// <paramref name="dst"/> must be 64-byte aligned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, float* b, long ldb, int p0, int kc, int j0, int nc, float* dst, int NR)
    {
        for (int jr = 0; jr < nc; jr += NR, dst += (long)NR * kc)
        {
            int nr = Math.Min(NR, nc - jr);
            if (!transB)
            {
                float* src = b + (long)p0 * ldb + j0 + jr;
                if (nr == NR && NR == 32 && Avx512F.IsSupported)
                    for (int p = 0; p < kc; p++, src += ldb)
                    {
                        float* d = dst + p * NR;
                        Avx512F.StoreAligned(d, Avx512F.LoadVector512(src));
                        Avx512F.StoreAligned(d + 16, Avx512F.LoadVector512(src + 16));
                    }
                else if (nr == NR && Avx.IsSupported)
                    for (int p = 0; p < kc; p++, src += ldb)
                    {
                        float* d = dst + p * NR;
                        for (int q = 0; q < NR; q += 8) Avx.StoreAligned(d + q, Avx.LoadVector256(src + q));
                    }
                else
                    for (int p = 0; p < kc; p++, src += ldb)
                    {
                        float* d = dst + p * NR;
                        for (int j = 0; j < NR; j++) d[j] = j < nr ? src[j] : 0f;
                    }
            }
            else
            {
                // B is stored N×K: each column of op(B) is a contiguous row in memory.
                float* src = b + (j0 + jr) * ldb + p0;
                int p = 0;
                if (nr == NR && Avx.IsSupported)
                    for (; p + 8 <= kc; p += 8)
                        for (int q = 0; q < NR; q += 8)
                            TransposeBlock8(src + q * ldb + p, ldb, dst + p * NR + q, NR);
                for (; p < kc; p++)
                {
                    float* d = dst + p * NR;
                    for (int j = 0; j < NR; j++) d[j] = j < nr ? src[j * ldb + p] : 0f;
                }
            }
        }
    }

    /// <summary>d[j·ldd + i] = s[i·lds + j] for an 8 × 8 block (unaligned loads and stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TransposeBlock8(float* s, long lds, float* d, long ldd)
    {
        Transpose8x8(Avx.LoadVector256(s), Avx.LoadVector256(s + lds), Avx.LoadVector256(s + 2 * lds),
            Avx.LoadVector256(s + 3 * lds), Avx.LoadVector256(s + 4 * lds), Avx.LoadVector256(s + 5 * lds),
            Avx.LoadVector256(s + 6 * lds), Avx.LoadVector256(s + 7 * lds),
            out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
        Avx.Store(d, o0);
        Avx.Store(d + ldd, o1);
        Avx.Store(d + 2 * ldd, o2);
        Avx.Store(d + 3 * ldd, o3);
        Avx.Store(d + 4 * ldd, o4);
        Avx.Store(d + 5 * ldd, o5);
        Avx.Store(d + 6 * ldd, o6);
        Avx.Store(d + 7 * ldd, o7);
    }

    /// <summary>Transposes the 8×8 matrix whose rows are r0..r7: o_j = (r0[j], …, r7[j]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
        out Vector256<float> o4, out Vector256<float> o5, out Vector256<float> o6, out Vector256<float> o7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        o0 = Avx.Permute2x128(s0, s4, 0x20); o1 = Avx.Permute2x128(s1, s5, 0x20);
        o2 = Avx.Permute2x128(s2, s6, 0x20); o3 = Avx.Permute2x128(s3, s7, 0x20);
        o4 = Avx.Permute2x128(s0, s4, 0x31); o5 = Avx.Permute2x128(s1, s5, 0x31);
        o6 = Avx.Permute2x128(s2, s6, 0x31); o7 = Avx.Permute2x128(s3, s7, 0x31);
    }
}
