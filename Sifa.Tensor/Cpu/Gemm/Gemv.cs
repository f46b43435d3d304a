using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// <see cref="Sgemm"/>'s path for a single row or column of C (m = 1 or n = 1). There is no reuse to block
/// for, so packing would only add a copy of the matrix: this streams it once, either as dot products (the
/// matrix's contiguous rows meet the vector) or as weighted row sums y = Σ_p v[p]·row p.
/// </summary>
internal static unsafe class Gemv
{
    /// <summary>Outputs (rows of X) per claimed chunk in the dot form.</summary>
    private const int DotChunk = 256;

    /// <summary>Largest column block of the row-sum form: its partial sums (8 KiB) stay in L1.</summary>
    private const int SumChunk = 2048;

    /// <summary>Handles the m = 1 or n = 1 product; same contract as <see cref="Sgemm.Multiply"/>.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        // Both shapes reduce to y (len outputs) = X·v with X len×k in contiguous rows (dot form) or
        // y = Xᵀ·v with X k×len in contiguous rows (row-sum form); v is a contiguous k-vector.
        int len;
        float* x, v;
        long ldx;
        bool dotForm;
        float[]? vCopy = null;
        if (m == 1)
        {
            len = n;
            // op(A) is the 1×k vector: contiguous unless A is stored k×1.
            v = transA && lda != 1 ? Gather(a, lda, k, out vCopy) : a;
            x = b; ldx = ldb;
            dotForm = transB;            // B stored n×k: rows are the dot operands
        }
        else
        {
            len = m;
            // op(B) is the k×1 vector: contiguous only when B is stored 1×k (or ldb = 1).
            v = !transB && ldb != 1 ? Gather(b, ldb, k, out vCopy) : b;
            x = a; ldx = lda;
            dotForm = !transA;           // A stored m×k: rows are the dot operands
        }

        long ldy = m == 1 ? 1 : ldc;     // stride of the output elements in C
        float* vv = v, xx = x;
        // Row-sum blocks are as wide as possible (long contiguous runs of each row) but split over the threads.
        int chunk = dotForm ? DotChunk : Math.Clamp((len + threads - 1) / threads + 63 & ~63, 64, SumChunk);
        int chunks = (len + chunk - 1) / chunk, next = -1;
        GemmWorkers.Run(threads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (_) =>
        {
            float* sums = stackalloc float[SumChunk];
            int t;
            while ((t = Interlocked.Increment(ref next)) < chunks)
            {
                int i0 = t * chunk, cnt = Math.Min(chunk, len - i0);
                if (dotForm) DotRows(xx + i0 * ldx, ldx, cnt, vv, k, sums);
                else SumRows(xx + i0, ldx, cnt, vv, k, sums);
                float* y = c + i0 * ldy;
                // beta = 0 overwrites C without reading it (NaN included).
                if (beta == 0) for (int i = 0; i < cnt; i++) y[i * ldy] = alpha * sums[i];
                else for (int i = 0; i < cnt; i++) y[i * ldy] = alpha * sums[i] + beta * y[i * ldy];
            }
        });
        GC.KeepAlive(vCopy);
    }

    /// <summary>dots[i] = Σ_p x[i·ldx + p]·v[p] for i &lt; rows: four rows at a time share each load of v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotRows(float* x, long ldx, int rows, float* v, int k, float* dots)
    {
        int i = 0;
        if (Fma.IsSupported && Avx2.IsSupported)
            for (; i + 4 <= rows; i += 4)
            {
                float* x0 = x + i * ldx, x1 = x0 + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 8 <= k; p += 8)
                {
                    var vp = Avx.LoadVector256(v + p);
                    s0 = Fma.MultiplyAdd(Avx.LoadVector256(x0 + p), vp, s0);
                    s1 = Fma.MultiplyAdd(Avx.LoadVector256(x1 + p), vp, s1);
                    s2 = Fma.MultiplyAdd(Avx.LoadVector256(x2 + p), vp, s2);
                    s3 = Fma.MultiplyAdd(Avx.LoadVector256(x3 + p), vp, s3);
                }
                float d0 = Vector256.Sum(s0), d1 = Vector256.Sum(s1), d2 = Vector256.Sum(s2), d3 = Vector256.Sum(s3);
                for (; p < k; p++)
                {
                    d0 += x0[p] * v[p]; d1 += x1[p] * v[p]; d2 += x2[p] * v[p]; d3 += x3[p] * v[p];
                }
                dots[i] = d0; dots[i + 1] = d1; dots[i + 2] = d2; dots[i + 3] = d3;
            }
        for (; i < rows; i++)
            dots[i] = TensorPrimitives.Dot(new ReadOnlySpan<float>(x + i * ldx, k), new ReadOnlySpan<float>(v, k));
    }

    /// <summary>
    /// sums[j] = Σ_p v[p]·x[p·ldx + j] for j &lt; cols (≤ 2048, so the sums stay in L1): rows are streamed as
    /// contiguous runs, four at a time, so each update of the sums serves four FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumRows(float* x, long ldx, int cols, float* v, int k, float* sums)
    {
        var acc = new Span<float>(sums, cols);
        acc.Clear();
        int p = 0;
        if (Fma.IsSupported && Avx2.IsSupported)
            for (; p + 4 <= k; p += 4)
            {
                float* x0 = x + p * ldx, x1 = x0 + ldx, x2 = x1 + ldx, x3 = x2 + ldx;
                float w0 = v[p], w1 = v[p + 1], w2 = v[p + 2], w3 = v[p + 3];
                Vector256<float> v0 = Vector256.Create(w0), v1 = Vector256.Create(w1);
                Vector256<float> v2 = Vector256.Create(w2), v3 = Vector256.Create(w3);
                int j = 0;
                for (; j + 8 <= cols; j += 8)
                {
                    var s = Avx.LoadVector256(sums + j);
                    s = Fma.MultiplyAdd(Avx.LoadVector256(x0 + j), v0, s);
                    s = Fma.MultiplyAdd(Avx.LoadVector256(x1 + j), v1, s);
                    s = Fma.MultiplyAdd(Avx.LoadVector256(x2 + j), v2, s);
                    s = Fma.MultiplyAdd(Avx.LoadVector256(x3 + j), v3, s);
                    Avx.Store(sums + j, s);
                }
                for (; j < cols; j++) sums[j] += w0 * x0[j] + w1 * x1[j] + w2 * x2[j] + w3 * x3[j];
            }
        for (; p < k; p++)
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(x + p * ldx, cols), v[p], acc, acc);
    }

    /// <summary>Copies a strided vector into a new pinned array and returns its address.</summary>
    private static float* Gather(float* src, long stride, int count, out float[] copy)
    {
        copy = GC.AllocateUninitializedArray<float>(count, pinned: true);
        float* d = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(copy));
        for (int i = 0; i < count; i++) d[i] = src[i * stride];
        return d;
    }
}
