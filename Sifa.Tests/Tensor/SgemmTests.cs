using Sifa.Tensors.Cpu;

namespace Sifa.Tests.TensorTests;

/// <summary>Checks the packed SGEMM against a naive double-accumulated product over odd shapes, strides and flags.</summary>
/// <remarks>
/// Some tests change the GEMM's process-wide tuning hooks (block sizes, scalar kernel), which changes the
/// rounding of every product in the process; the class therefore runs alone, never beside other tests.
/// </remarks>
[Collection(GlobalStateCollection.Name)]
public sealed unsafe class SgemmTests
{
    /// <summary>Naive reference: C = alpha·op(A)·op(B) + beta·C with double accumulation.</summary>
    private static void Reference(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda,
        float[] b, int ldb, float beta, float[] c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                double old = beta == 0 ? 0 : (double)beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * s + old);
            }
    }

    private static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Runs one case (with padded leading dimensions when <paramref name="pad"/> &gt; 0) and compares.</summary>
    private static void Check(bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad = 0,
        bool nanInC = false, bool parallel = true, int seed = 1)
    {
        var rng = new Random(seed + m * 31 + n * 7 + k);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        // Exactly sized arrays (no slack after the last row) so any over-read past the matrix would be caught
        // by the comparisons of neighbouring data rather than silently tolerated.
        float[] a = Random(rng, Math.Max(1, (aRows - 1) * lda + aCols));
        float[] b = Random(rng, Math.Max(1, (bRows - 1) * ldb + bCols));
        float[] c = Random(rng, (m - 1) * ldc + n);
        if (nanInC) Array.Fill(c, float.NaN);
        // Mark the padding columns of C so writes outside the m×n window are detected.
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++) c[i * ldc + j] = 12345f;
        float[] expected = (float[])c.Clone();
        Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);

        fixed (float* pa = a, pb = b, pc = c)
            Sgemm.Multiply(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, parallel);

        double tol = 1e-5 * Math.Sqrt(Math.Max(k, 1)) * 4;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc && i * ldc + j < c.Length; j++)
            {
                float want = expected[i * ldc + j], got = c[i * ldc + j];
                if (j >= n)
                {
                    Assert.True(got == 12345f, $"wrote outside C at ({i},{j}) [ta={ta} tb={tb} m={m} n={n} k={k}]");
                    continue;
                }
                double err = Math.Abs(got - want), scale = Math.Max(1.0, Math.Abs(want));
                Assert.True(err <= tol * scale,
                    $"C[{i},{j}] = {got}, expected {want} (err {err:E2}) [ta={ta} tb={tb} m={m} n={n} k={k} alpha={alpha} beta={beta} pad={pad}]");
            }
    }

    /// <summary>The shape grid: 1, small primes, sizes around the 6×16 tile and the cache blocks, long K.</summary>
    public static TheoryData<int, int, int> Shapes() => new()
    {
        { 1, 1, 1 }, { 1, 7, 13 }, { 7, 1, 13 }, { 13, 7, 1 }, { 6, 16, 8 }, { 5, 15, 7 }, { 7, 17, 9 },
        { 12, 32, 16 }, { 97, 127, 13 }, { 127, 97, 257 }, { 13, 257, 97 }, { 257, 13, 127 },
        { 1, 300, 1031 }, { 300, 1, 1031 }, { 37, 41, 1031 }, { 150, 70, 600 }, { 145, 33, 513 },
        { 4, 32, 19 }, { 64, 64, 37 }, { 256, 35, 70 },   // M ≡ 4 (mod 6): the 4-row edge kernels
    };

    /// <summary>All four transposition cases over the shape grid, alpha = 1, beta = 0.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllTransposeCases(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                Check(ta, tb, m, n, k, 1f, 0f);
    }

    /// <summary>Alpha/beta variants and leading dimensions wider than the matrices.</summary>
    [Theory]
    [InlineData(1f, 1f, 0)]
    [InlineData(0.5f, -2f, 3)]
    [InlineData(-1.25f, 0.75f, 17)]
    [InlineData(2f, 0f, 5)]
    public void AlphaBetaAndStrides(float alpha, float beta, int pad)
    {
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 13, 97), (97, 127, 257), (13, 35, 1031), (64, 100, 300) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    Check(ta, tb, m, n, k, alpha, beta, pad);
    }

    /// <summary>beta = 0 must overwrite C without reading it, even when C holds NaN.</summary>
    [Fact]
    public void BetaZeroIgnoresNaN()
    {
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 13, 5), (97, 127, 600), (6, 16, 1100) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    Check(ta, tb, m, n, k, 1.5f, 0f, pad: 2, nanInC: true);
    }

    /// <summary>k = 0 (and alpha = 0) reduce to C = beta·C.</summary>
    [Fact]
    public void EmptyInnerDimensionScalesC()
    {
        Check(false, false, 5, 9, 0, 1f, 0.5f);
        Check(false, false, 5, 9, 0, 1f, 0f, nanInC: true);
        Check(true, true, 7, 3, 11, 0f, 2f);
    }

    /// <summary>Large enough to take the multi-threaded path with column stripes and with row stripes.</summary>
    [Theory]
    [InlineData(200, 300, 150)]
    [InlineData(400, 20, 300)]
    [InlineData(130, 130, 130)]
    public void ParallelMatchesSerial(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                Check(ta, tb, m, n, k, 1f, 0.5f, pad: 1, parallel: true);
                Check(ta, tb, m, n, k, 1f, 0.5f, pad: 1, parallel: false);
            }
    }

    /// <summary>Single-row and single-column products (the GEMV path): strides, alpha/beta, NaN in C, threads.</summary>
    [Fact]
    public void VectorShapes()
    {
        foreach (var (m, n, k) in new[] { (1, 33, 5), (29, 1, 3), (1, 1, 2000), (1, 3000, 1000), (3000, 1, 1000), (1, 257, 97) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    Check(ta, tb, m, n, k, 1f, 0f, pad: 0);
                    Check(ta, tb, m, n, k, -0.5f, 1.5f, pad: 3);
                    Check(ta, tb, m, n, k, 2f, 0f, pad: 2, nanInC: true);
                }
    }

    /// <summary>Products started from several threads at once (sharing the GEMM workers) stay correct.</summary>
    [Fact]
    public void ConcurrentCallers()
    {
        var shapes = new[] { (200, 300, 150), (97, 127, 257), (400, 20, 300), (130, 130, 130) };
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var (m, n, k) = shapes[i % shapes.Length];
            Check(i % 2 == 1, i % 3 == 1, m, n, k, 1f, 0.5f, pad: 1, parallel: true, seed: i);
        });
    }

    /// <summary>Without the shared packed A the parallel split takes per-thread column stripes or row stripes.</summary>
    [Fact]
    public void UnsharedStripes()
    {
        long limit = Sgemm.SharedAMaxFloats;
        try
        {
            Sgemm.SharedAMaxFloats = 0;
            foreach (var (m, n, k) in new[] { (400, 20, 300), (97, 127, 257), (301, 45, 250) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        Check(ta, tb, m, n, k, 1f, 0.5f, pad: 1, parallel: true);
        }
        finally
        {
            Sgemm.SharedAMaxFloats = limit;
        }
    }

    /// <summary>Small cache blocks make every shape cross several K, M and N blocks (multi-block accumulation).</summary>
    [Fact]
    public void ManyBlocks()
    {
        int kc = Sgemm.KC, mc = Sgemm.MC, nc = Sgemm.NC;
        try
        {
            Sgemm.KC = 37; Sgemm.MC = 18; Sgemm.NC = 48;
            foreach (var (m, n, k) in new[] { (97, 127, 257), (40, 100, 75), (1, 50, 100), (301, 45, 250) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        Check(ta, tb, m, n, k, 0.75f, 0.25f, pad: 3, parallel: false);
                        Check(ta, tb, m, n, k, 0.75f, 0.25f, pad: 3, parallel: true);
                    }
        }
        finally
        {
            Sgemm.KC = kc; Sgemm.MC = mc; Sgemm.NC = nc;
        }
    }

    /// <summary>Every micro-kernel path this machine supports (scalar reference, AVX2, AVX-512) on the odd-shape grid.</summary>
    public static TheoryData<CpuIsa> SupportedPaths()
    {
        var d = new TheoryData<CpuIsa>();
        foreach (var isa in Enum.GetValues<CpuIsa>())
            if (CpuFeatures.Supports(isa)) d.Add(isa);
        return d;
    }

    /// <summary>
    /// Each path against the double reference: the shape grid in all four transposition cases, alpha/beta with padded
    /// strides, NaN in C with beta = 0, serial and parallel, and small blocks that cross many K, M and N blocks.
    /// </summary>
    [Theory]
    [MemberData(nameof(SupportedPaths))]
    public void EveryPathMatchesReference(CpuIsa path)
    {
        var before = Sgemm.Isa;
        try
        {
            Sgemm.Isa = path;
            foreach (var row in Shapes())
            {
                var (m, n, k) = ((int)row[0], (int)row[1], (int)row[2]);
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                        Check(ta, tb, m, n, k, 1f, 0f);
            }
            foreach (var (m, n, k) in new[] { (7, 13, 97), (97, 127, 257), (13, 35, 1031), (200, 300, 150), (130, 130, 130) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        Check(ta, tb, m, n, k, -1.25f, 0.75f, pad: 17);
                        Check(ta, tb, m, n, k, 1.5f, 0f, pad: 2, nanInC: true, parallel: false);
                    }
            Sgemm.KC = 37; Sgemm.MC = 18; Sgemm.NC = 80;
            foreach (var (m, n, k) in new[] { (97, 127, 257), (40, 100, 75), (301, 45, 250) })
                foreach (bool ta in new[] { false, true })
                    foreach (bool tb in new[] { false, true })
                    {
                        Check(ta, tb, m, n, k, 0.75f, 0.25f, pad: 3, parallel: false);
                        Check(ta, tb, m, n, k, 0.75f, 0.25f, pad: 3, parallel: true);
                    }
        }
        finally
        {
            Sgemm.Isa = before;   // also restores the default blocks
        }
    }

    /// <summary>Weights packed once (<see cref="Sgemm.PackA"/>) and reused by <see cref="Sgemm.MultiplyPacked"/> on every path.</summary>
    [Theory]
    [MemberData(nameof(SupportedPaths))]
    public void PackedAOnEveryPath(CpuIsa path)
    {
        var before = Sgemm.Isa;
        try
        {
            Sgemm.Isa = path;
            foreach (var (m, n, k, ta) in new[] { (64, 3136 / 7, 576, false), (13, 65, 97, true), (97, 33, 1031, false) })
            {
                var rng = new Random(m + n + k);
                float[] a = Random(rng, m * k), b = Random(rng, k * n), c = new float[m * n], expected = new float[m * n];
                Reference(ta, false, m, n, k, 1f, a, ta ? m : k, b, n, 0f, expected, n);
                float[] packed = new float[Sgemm.PackedALength(m, k) + 16];
                fixed (float* pa = a, pb = b, pc = c, pp = packed)
                {
                    float* aligned = (float*)(((nint)pp + 63) & ~(nint)63);
                    Sgemm.PackA(ta, m, k, pa, ta ? m : k, aligned);
                    Sgemm.MultiplyPacked(m, n, k, aligned, false, pb, n, 0f, pc, n);
                }
                for (int i = 0; i < c.Length; i++)
                    Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"{path} packed ({m},{n},{k}) at {i}: {c[i]} vs {expected[i]}");
            }
        }
        finally
        {
            Sgemm.Isa = before;
        }
    }
}
