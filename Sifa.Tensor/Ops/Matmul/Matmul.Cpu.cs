namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor Matmul(Tensor a, Tensor b)
    {
        var (batch, m, k, n) = MatmulChecks.Shapes(a, b);
        return MatmulKernels.Multiply(a, b, batch, m, k, n);
    }
}

// Batched products on the packed SGEMM (Cpu/Gemm): one large product uses every core inside the GEMM; many small
// ones run one per core.
internal static class MatmulKernels
{
    public static unsafe Tensor Multiply(Tensor a, Tensor b, int[] batch, int m, int k, int n)
    {
        var ae = a.Expand(batch.Append(m).Append(k).ToArray());
        var be = b.Expand(batch.Append(k).Append(n).ToArray());
        var outShape = batch.Append(m).Append(n).ToArray();
        var c = Tensor.Empty(outShape);
        int nb = Tensor.NumelOf(batch);
        // Each matrix operand may be used in place when one of its two inner strides is 1 (plain or transposed).
        (Tensor t, bool trans, int ld) Prep(Tensor t, int rows, int cols)
        {
            int s0 = t.Strides[^2], s1 = t.Strides[^1];
            if (s1 == 1 && (s0 >= cols || rows == 1)) return (t, false, Math.Max(s0, cols));
            if (s0 == 1 && (s1 >= rows || cols == 1)) return (t, true, Math.Max(s1, rows));
            var cc = t.Contiguous();
            return (cc, false, cols);
        }
        var (ap, ta, lda) = Prep(ae, m, k);
        var (bp, tb, ldb) = Prep(be, k, n);
        var ad = CpuBackend.Data(ap); var bd = CpuBackend.Data(bp); var cd = CpuBackend.Data(c);
        var bsh = batch;
        int BatchOffset(Tensor t, int i)
        {
            int off = t.Offset;
            for (int d = bsh.Length - 1; d >= 0; d--) { off += (i % bsh[d]) * t.Strides[d]; i /= bsh[d]; }
            return off;
        }
        if (m == 0 || n == 0) return c;
        if (k == 0) { c.Fill_(0); return c; }
        fixed (float* pa = ad, pb = bd, pc = cd)
        {
            float* pa2 = pa, pb2 = pb, pc2 = pc;
            bool inner = nb == 1 || (long)m * n * k >= 1L << 22;
            if (inner)
            {
                for (int i = 0; i < nb; i++)
                    Sgemm.Multiply(ta, tb, m, n, k, 1f, pa2 + BatchOffset(ap, i), lda, pb2 + BatchOffset(bp, i), ldb, 0f, pc2 + (long)i * m * n, n, parallel: true);
            }
            else
            {
                var (ia, ib, ic) = ((nint)pa2, (nint)pb2, (nint)pc2);
                CpuParallel.For(nb, i => Sgemm.Multiply(ta, tb, m, n, k, 1f, (float*)ia + BatchOffset(ap, i), lda,
                    (float*)ib + BatchOffset(bp, i), ldb, 0f, (float*)ic + (long)i * m * n, n, parallel: false), (long)nb * m * n * k);
            }
        }
        return c;
    }
}
