namespace Sifa.Tensors.Cpu;

/// <summary>Single-precision matrix product on row-major matrices (placeholder: simple loops).</summary>
public static unsafe class Sgemm
{
    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C, row-major. op(A) is M×K (A is K×M with lda ≥ M when transposed),
    /// op(B) is K×N (B is N×K when transposed). beta = 0 ignores C's old values (NaN included).
    /// </summary>
    /// <param name="transA">Whether A is stored transposed.</param>
    /// <param name="transB">Whether B is stored transposed.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A's first element.</param>
    /// <param name="lda">A's row stride.</param>
    /// <param name="b">B's first element.</param>
    /// <param name="ldb">B's row stride.</param>
    /// <param name="beta">Scale of C's old values.</param>
    /// <param name="c">C's first element.</param>
    /// <param name="ldc">C's row stride.</param>
    /// <param name="parallel">Whether to use all cores (false inside an already parallel loop).</param>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool parallel = true)
    {
        for (int i = 0; i < m; i++)
        {
            float* ci = c + (long)i * ldc;
            for (int j = 0; j < n; j++) ci[j] = beta == 0 ? 0 : beta * ci[j];
            for (int p = 0; p < k; p++)
            {
                float av = alpha * (transA ? a[(long)p * lda + i] : a[(long)i * lda + p]);
                if (transB) for (int j = 0; j < n; j++) ci[j] += av * b[(long)j * ldb + p];
                else { float* bp = b + (long)p * ldb; for (int j = 0; j < n; j++) ci[j] += av * bp[j]; }
            }
        }
    }
}
