using System.Diagnostics;
using System.Globalization;
using Sifa.Tensors;
using Sifa.Tensors.Cpu;

namespace Sifa.Cli.Bench;

/// <summary>
/// Times the CPU matrix product <see cref="Tensor.Matmul"/> (C = A·B, row-major, random inputs, all cores; the packed
/// SGEMM behind it) the same way as <c>bench/gemm_numpy.py</c>, so the two printed <c>gflops=</c> lines compare directly.
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
    /// <returns>0 on success, 2 for invalid sizes.</returns>
    public static int Run(int m, int n, int k, int repeats, TextWriter output)
    {
        if (m <= 0 || n <= 0 || k <= 0 || repeats <= 0)
        {
            output.WriteLine("gemm bench: m, n, k and repeats must be positive");
            return 2;
        }
        var rng = new Random(0);
        var a = Tensor.FromArray(RandomArray(rng, (long)m * k), m, k);
        var b = Tensor.FromArray(RandomArray(rng, (long)k * n), k, n);
        double flops = 2.0 * m * n * k;
        var samples = new double[repeats];
        void Once() => Tensor.Matmul(a, b);

        // Warm-up: JIT tiers up, pack buffers are allocated, the thread pool starts its workers.
        var sw = Stopwatch.StartNew();
        do Once(); while (sw.Elapsed.TotalSeconds < 0.3);

        sw.Restart();
        Once();
        double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
        int inner = Math.Max(1, (int)(0.1 / once));
        for (int r = 0; r < repeats; r++)
        {
            sw.Restart();
            for (int i = 0; i < inner; i++) Once();
            samples[r] = sw.Elapsed.TotalSeconds / inner;
        }
        Array.Sort(samples);
        double med = samples[repeats / 2];
        var ci = CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(ci, "sifa sgemm m={0} n={1} k={2} threads={3} median={4:F3} ms min={5:F3} ms over {6} runs",
            m, n, k, CpuParallel.Threads, med * 1e3, samples[0] * 1e3, repeats));
        output.WriteLine(string.Format(ci, "gflops={0:F2}", flops / med / 1e9));
        return 0;
    }

    private static float[] RandomArray(Random rng, long length)
    {
        var x = new float[length];
        for (long i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
