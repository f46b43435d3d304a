using System.Diagnostics;
using System.Globalization;
using Sifa.Tensors;
using Sifa.Tensors.Cpu;

namespace Sifa.Cli.Bench;

/// <summary>
/// Times the CPU matrix product <see cref="Tensor.Matmul"/> (C = A·B, row-major, random inputs, all cores; the packed
/// SGEMM behind it) the same way as <c>bench/gemm_numpy.py</c>, so the two printed <c>gflops=</c> lines compare directly.
/// The first line names the instruction set and SGEMM path measured (<see cref="CpuFeatures.Describe"/>).
/// </summary>
public static class GemmBench
{
    /// <summary>
    /// Warms up, then takes the median of <paramref name="repeats"/> samples (each ≥ ~0.1 s of back-to-back products)
    /// and prints a summary line followed by <c>gflops=&lt;value&gt;</c> (2·M·N·K / seconds / 1e9) as the last line.
    /// </summary>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="n">Columns of B and C.</param>
    /// <param name="k">Columns of A, rows of B.</param>
    /// <param name="repeats">Number of timed samples (the median is reported).</param>
    /// <param name="output">Where the report goes.</param>
    /// <param name="path">SGEMM path to use (null: the best the machine has).</param>
    /// <param name="threads">Threads (0: all cores).</param>
    /// <returns>0 on success, 2 for invalid sizes.</returns>
    /// <remarks>
    /// Also prints <c>cpu_gflops_per_thread=</c>: the flops over the process's CPU time (user + system) per thread. On a
    /// machine loaded by other work the wall-clock figure mostly measures the share of the cores this process got, while
    /// the CPU-time figure stays close to the kernel's speed (with one thread; with more, idle spinning counts as work).
    /// </remarks>
    public static int Run(int m, int n, int k, int repeats, TextWriter output, CpuIsa? path = null, int threads = 0)
    {
        if (m <= 0 || n <= 0 || k <= 0 || repeats <= 0)
        {
            output.WriteLine("gemm bench: m, n, k and repeats must be positive");
            return 2;
        }
        SelectPath(path);
        if (threads > 0) CpuParallel.Threads = threads;
        output.WriteLine(CpuFeatures.Describe());
        var rng = new Random(0);
        var a = Tensor.FromArray(RandomArray(rng, (long)m * k), m, k);
        var b = Tensor.FromArray(RandomArray(rng, (long)k * n), k, n);
        double flops = 2.0 * m * n * k;
        var samples = new double[repeats];
        // C comes from the buffer pool, as numpy's bench writes into a preallocated `out`: a fresh multi-megabyte
        // array per call would time the VM's page faults (up to a third of a small product) instead of the product.
        void Once() { using (TensorScope.Begin()) Tensor.Matmul(a, b); }

        // Warm-up: JIT tiers up, pack buffers are allocated, the thread pool starts its workers.
        var sw = Stopwatch.StartNew();
        do Once(); while (sw.Elapsed.TotalSeconds < 0.3);

        sw.Restart();
        Once();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int inner = Math.Max(1, (int)(0.1 / once));
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        for (int r = 0; r < repeats; r++)
        {
            sw.Restart();
            for (int i = 0; i < inner; i++) Once();
            samples[r] = sw.Elapsed.TotalSeconds / inner;
        }
        proc.Refresh();
        double cpuSeconds = (proc.TotalProcessorTime - cpu0).TotalSeconds;
        Array.Sort(samples);
        double med = samples[repeats / 2];
        var ci = CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(ci, "sifa sgemm m={0} n={1} k={2} threads={3} median={4:F3} ms min={5:F3} ms over {6} runs",
            m, n, k, CpuParallel.Threads, med * 1e3, samples[0] * 1e3, repeats));
        output.WriteLine(string.Format(ci, "cpu_gflops_per_thread={0:F2}", flops * repeats * inner / Math.Max(cpuSeconds, 1e-9) / 1e9));
        output.WriteLine(string.Format(ci, "gflops={0:F2}", flops / med / 1e9));
        return 0;
    }

    /// <summary>
    /// Checks the product on odd shapes (tile and block edges, all four transpositions through transposed views) against
    /// a double-precision reference and prints the path and <c>check=ok</c> or <c>check=FAILED</c> as the last line.
    /// Used by a test that runs the CLI with <c>DOTNET_EnableAVX512F=0</c> to cover the AVX2 path in a child process.
    /// </summary>
    /// <param name="output">Where the report goes.</param>
    /// <param name="path">SGEMM path to use (null: the best the machine has).</param>
    /// <returns>0 when every product matches, 1 otherwise.</returns>
    public static int Check(TextWriter output, CpuIsa? path = null)
    {
        SelectPath(path);
        output.WriteLine(CpuFeatures.Describe());
        var rng = new Random(1);
        double worst = 0;
        foreach (var (m, n, k) in new[] { (1, 1, 1), (5, 15, 7), (7, 33, 9), (13, 65, 97), (97, 127, 257), (150, 70, 600), (64, 300, 1031), (200, 300, 150) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var a = Tensor.FromArray(RandomArray(rng, (long)m * k), ta ? k : m, ta ? m : k);
                    var b = Tensor.FromArray(RandomArray(rng, (long)k * n), tb ? n : k, tb ? k : n);
                    var c = Tensor.Matmul(ta ? a.Transpose(0, 1) : a, tb ? b.Transpose(0, 1) : b).ToArray();
                    float[] ad = a.ToArray(), bd = b.ToArray();
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++)
                                s += (double)(ta ? ad[p * m + i] : ad[i * k + p]) * (tb ? bd[j * k + p] : bd[p * n + j]);
                            worst = Math.Max(worst, Math.Abs(c[i * n + j] - s) / Math.Sqrt(k) / Math.Max(1, Math.Abs(s)));
                        }
                }
        bool ok = worst <= 4e-5;
        output.WriteLine(string.Format(CultureInfo.InvariantCulture, "path={0} max_scaled_err={1:E2} check={2}",
            CpuFeatures.Name(CpuFeatures.SgemmPath), worst, ok ? "ok" : "FAILED"));
        return ok ? 0 : 1;
    }

    /// <summary>Parses a path name (scalar, avx2, avx512; null or empty: the best one).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The path, or null for the default.</returns>
    public static CpuIsa? ParsePath(string? name) => name switch
    {
        null or "" or "best" => null,
        "scalar" => CpuIsa.Scalar,
        "avx2" => CpuIsa.Avx2,
        "avx512" => CpuIsa.Avx512,
        _ => throw new ArgumentException($"--path {name}: expected best, avx512, avx2 or scalar"),
    };

    private static void SelectPath(CpuIsa? path)
    {
        if (path is not { } p) return;
        if (!CpuFeatures.Supports(p)) throw new ArgumentException($"--path {CpuFeatures.Name(p)}: not supported on this machine (best: {CpuFeatures.Name(CpuFeatures.Best)})");
        CpuFeatures.SgemmPath = p;
    }

    private static float[] RandomArray(Random rng, long length)
    {
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
