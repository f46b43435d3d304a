using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Sifa.Tensors.Gpu;

// Batched matmul with broadcast batch dims. On CUDA with cuBLAS: one SGEMM per batch (or one for all when the right
// operand is shared and the left one's batch and row dims merge, e.g. a linear layer). Otherwise (the CPU accelerator,
// or no libcublas): the tiled shared-memory kernel below, which reads both operands through their strides.
public sealed partial class GpuBackend
{
    private readonly Lazy<CuBlas?> _cuBlas;

    private CuBlas? CreateCuBlas()
    {
        if (_accelerator is not CudaAccelerator cuda || Environment.GetEnvironmentVariable("SIFA_NO_CUBLAS") == "1") return null;
        try
        {
            var blas = new CuBlas(cuda);
            blas.Stream = (CudaStream)Stream;
            blas.PointerMode = CuBlasPointerMode.Host; // alpha and beta are host floats
            // Full FP32 SGEMM, as the CPU computes it: the default math mode never uses TF32 tensor cores (that takes
            // CUBLAS_TF32_TENSOR_OP_MATH); set explicitly so a changed library default cannot change results.
            blas.MathMode = CuBlasMathMode.DefaultMath;
            return blas;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CuBlasException or BadImageFormatException)
        {
            return null; // no usable libcublas: the tiled kernel does the work
        }
    }

    /// <summary>Whether matrix products go through cuBLAS (false: the project's tiled kernel).</summary>
    public bool UsesCuBlas => _cuBlas.Value != null;

    /// <inheritdoc/>
    public Tensor Matmul(Tensor a, Tensor b)
    {
        if (a.Rank < 2 || b.Rank < 2) throw new ArgumentException($"matmul needs rank ≥ 2, got {Tensor.Fmt(a.Shape)} and {Tensor.Fmt(b.Shape)}");
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        if (b.Shape[^2] != k) throw new ArgumentException($"matmul inner sizes differ: {Tensor.Fmt(a.Shape)} · {Tensor.Fmt(b.Shape)}");
        var batch = Tensor.BroadcastShapes(a.Shape[..^2], b.Shape[..^2]);
        var ae = a.Expand([.. batch, m, k]);
        var be = b.Expand([.. batch, k, n]);
        var c = Empty([.. batch, m, n]);
        int nb = Tensor.NumelOf(batch);
        if (c.Numel == 0) return c;
        if (k == 0) { Fill(c, 0); return c; }
        if (!_vendorMatmulOff && _cuBlas.Value is { } blas) { CuBlasMatmul(blas, ae, be, c, batch, m, n, k); return c; }

        var shape = new MatmulShape
        {
            M = m, N = n, K = k,
            Sam = ae.Strides[^2], Sak = ae.Strides[^1], Sbk = be.Strides[^2], Sbn = be.Strides[^1],
        };
        var batchIndex = StridedIndex.Create(batch, ae.Strides[..^2], be.Strides[..^2], ae.Offset, be.Offset);
        int t = TileSize;
        var launch = GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, MatmulShape, StridedIndex>(MatmulKernels.Tiled);
        const int maxGridZ = 65535; // CUDA's limit on the third grid dimension
        for (int b0 = 0; b0 < nb; b0 += maxGridZ)
        {
            shape.BatchStart = b0;
            var grid = new Index3D((n + t - 1) / t, (m + t - 1) / t, Math.Min(maxGridZ, nb - b0));
            launch(Stream, new KernelConfig(grid, new Index3D(t, t, 1)), Whole(ae), Whole(be), View(c), shape, batchIndex);
        }
        return c;
    }

    // Tiles are t×t threads: 16 on GPUs, smaller where groups are (the CPU accelerator allows 16 threads: t = 4).
    private int TileSize
    {
        get
        {
            int t = MatmulKernels.MaxTile;
            while (t * t > MaxGroupSize) t /= 2;
            return t;
        }
    }

    private void CuBlasMatmul(CuBlas blas, Tensor a, Tensor b, Tensor c, int[] batch, int m, int n, int k)
    {
        // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: cuBLAS gets (B, A) with their leading dimensions swapped in.
        var (ap, ta, lda) = Gemmable(a, m, k);
        var (bp, tb, ldb) = Gemmable(b, k, n);
        int nb = Tensor.NumelOf(batch);
        var av = Whole(ap); var bv = Whole(bp); var cv = View(c);
        // A shared right operand and left batch+row dims that form one run: a single SGEMM with nb·m rows.
        if (nb > 1 && !ta && ap.Strides[^2] == lda && bp.Strides.Take(batch.Length).All(st => st == 0) && MergesRows(ap, batch.Length))
        {
            blas.Gemm(tb ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose, CuBlasOperation.NonTranspose,
                n, nb * m, k, 1f, bv.SubView(bp.Offset), ldb, av.SubView(ap.Offset), lda, 0f, cv, n);
            return;
        }
        var ix = StridedIndex.Create(batch, ap.Strides[..^2], bp.Strides[..^2], ap.Offset, bp.Offset);
        for (int i = 0; i < nb; i++)
        {
            ix.Offsets(i, out int ao, out int bo);
            blas.Gemm(tb ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose, ta ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
                n, m, k, 1f, bv.SubView(bo), ldb, av.SubView(ao), lda, 0f, cv.SubView((long)i * m * n, (long)m * n), n);
        }
    }

    // Left batch dims and the row dim merge into one run of stride lda (A is (…, m, k) with unit column stride).
    private static bool MergesRows(Tensor a, int batchRank)
    {
        int expected = a.Strides[^2] * a.Shape[^2];
        for (int d = batchRank - 1; d >= 0; d--)
        {
            if (a.Shape[d] != 1 && a.Strides[d] != expected) return false;
            expected *= a.Shape[d];
        }
        return true;
    }

    // An operand cuBLAS can read in place: unit stride along one of its two matrix dims (plain or transposed).
    private (Tensor t, bool trans, int ld) Gemmable(Tensor t, int rows, int cols)
    {
        int s0 = t.Strides[^2], s1 = t.Strides[^1];
        if (s1 == 1 && (s0 >= cols || rows == 1)) return (t, false, Math.Max(s0, cols));
        if (s0 == 1 && (s1 >= rows || cols == 1)) return (t, true, Math.Max(s1, rows));
        var dense = Empty(t.Shape);
        Copy(t, dense);
        return (dense, false, cols);
    }
}

/// <summary>Sizes and strides of one matrix product, passed by value.</summary>
internal struct MatmulShape
{
    public int M, N, K;
    public int Sam, Sak, Sbk, Sbn; // element strides: A along m and k, B along k and n
    public int BatchStart;         // first batch of this launch (grids are split at 65535 batches)
}

internal static class MatmulKernels
{
    public const int MaxTile = 16;

    /// <summary>
    /// C[z] = A[z]·B[z] for the batch z = BatchStart + grid z: each t×t group computes a t×t block of C, staging t×t
    /// tiles of A and B in shared memory (t = the group's width). Out-of-range tile entries are zero.
    /// </summary>
    public static void Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, MatmulShape s, StridedIndex batch)
    {
        var tileA = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        var tileB = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        int t = Group.DimX, tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * t + ty, col = Grid.IdxX * t + tx, z = s.BatchStart + Grid.IdxZ;
        batch.Offsets(z, out int ao, out int bo);
        float acc = 0;
        for (int k0 = 0; k0 < s.K; k0 += t)
        {
            int ka = k0 + tx, kb = k0 + ty;
            tileA[ty * t + tx] = row < s.M && ka < s.K ? a[ao + row * s.Sam + ka * s.Sak] : 0f;
            tileB[ty * t + tx] = kb < s.K && col < s.N ? b[bo + kb * s.Sbk + col * s.Sbn] : 0f;
            Group.Barrier();
            for (int kk = 0; kk < t; kk++) acc += tileA[ty * t + kk] * tileB[kk * t + tx];
            Group.Barrier();
        }
        if (row < s.M && col < s.N) c[((long)z * s.M + row) * s.N + col] = acc;
    }
}
