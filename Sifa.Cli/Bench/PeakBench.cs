using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Sifa.Tensors.Cpu;

namespace Sifa.Cli.Bench;

/// <summary>
/// The machine's single-precision FMA peak, measured with a loop of independent FMAs held in registers (no memory
/// traffic): per instruction set (256-bit AVX2 and, where present, 512-bit AVX-512), on one thread and on all cores.
/// Efficiencies of GEMM-bound kernels are quoted against the all-core figure of the kernel's own instruction set.
/// </summary>
public static class PeakBench
{
    private const long Iterations = 20_000_000;   // × 12 FMAs per iteration

    /// <summary>
    /// Prints, per instruction set and thread count, the best of <paramref name="repeats"/> runs as
    /// <c>peak isa=… threads=… gflops=… cpu_gflops_per_thread=…</c>; the last line is <c>gflops=</c> of the widest set on all cores.
    /// </summary>
    /// <param name="repeats">Runs per configuration (the best is kept: the peak is an upper bound).</param>
    /// <param name="output">Where the report goes.</param>
    /// <returns>0.</returns>
    public static int Run(int repeats, TextWriter output)
    {
        output.WriteLine(CpuFeatures.Describe());
        var ci = CultureInfo.InvariantCulture;
        var sets = new List<(string Name, int Lanes, Func<long, float> Loop)>();
        if (Fma.IsSupported) sets.Add(("avx2", 8, Loop256));
        if (Avx512F.IsSupported) sets.Add(("avx512", 16, Loop512));
        if (sets.Count == 0)
        {
            output.WriteLine("no FMA instructions on this machine");
            output.WriteLine("gflops=0");
            return 0;
        }
        double last = 0;
        int cores = Math.Max(1, CpuParallel.Threads);
        foreach (var (name, lanes, loop) in sets)
        {
            loop(1000);   // JIT
            foreach (int threads in cores > 1 ? new[] { 1, cores } : new[] { 1 })
            {
                double best = 0, bestCpu = 0;
                for (int r = 0; r < repeats; r++)
                {
                    var proc = Process.GetCurrentProcess();
                    var cpu0 = proc.TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    var sink = new float[threads];
                    var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => sink[t] = loop(Iterations))).ToArray();
                    foreach (var w in workers) w.Start();
                    foreach (var w in workers) w.Join();
                    double wall = sw.Elapsed.TotalSeconds;
                    proc.Refresh();
                    double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
                    double flops = 2.0 * 12 * lanes * Iterations * threads;
                    best = Math.Max(best, flops / wall / 1e9);
                    bestCpu = Math.Max(bestCpu, flops / Math.Max(cpu, 1e-9) / 1e9);
                    GC.KeepAlive(sink);
                }
                output.WriteLine(string.Format(ci, "peak isa={0} threads={1} gflops={2:F1} cpu_gflops_per_thread={3:F1}", name, threads, best, bestCpu));
                last = best;
            }
        }
        output.WriteLine(string.Format(ci, "gflops={0:F1}", last));
        return 0;
    }

    /// <summary>
    /// The FMA peak of one core in GFLOP/s from CPU time (so a loaded machine barely changes it): the best of three
    /// one-thread runs of the widest FMA loop; 0 without FMA.
    /// </summary>
    /// <returns>GFLOP/s per core.</returns>
    public static double PerCorePeak()
    {
        Func<long, float>? loop = Avx512F.IsSupported ? Loop512 : Fma.IsSupported ? Loop256 : null;
        if (loop == null) return 0;
        int lanes = Avx512F.IsSupported ? 16 : 8;
        double best = 0;
        loop(1000);
        for (int r = 0; r < 3; r++)
        {
            double sink = 0, cpu = 0;
            var t = new Thread(() =>
            {
                var c0 = ThreadCpu();
                sink = loop(Iterations / 4);
                cpu = ThreadCpu() - c0;
            });
            t.Start();
            t.Join();
            best = Math.Max(best, 2.0 * 12 * lanes * (Iterations / 4) / Math.Max(cpu, 1e-9) / 1e9);
            GC.KeepAlive(sink);
        }
        return best;
    }

    // The process's CPU seconds: while the loop runs, its thread is nearly all of them (a per-thread clock, from
    // /proc/thread-self/stat, ticks at only 100 Hz).
    private static double ThreadCpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    // 12 independent accumulators: enough to cover FMA latency × throughput (4 × 2) on current x86 cores.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop256(long n)
    {
        var a = Vector256.Create(0.999999f);
        var b = Vector256.Create(1e-7f);
        Vector256<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (long i = 0; i < n; i++)
        {
            c0 = Fma.MultiplyAdd(c0, a, b); c1 = Fma.MultiplyAdd(c1, a, b); c2 = Fma.MultiplyAdd(c2, a, b);
            c3 = Fma.MultiplyAdd(c3, a, b); c4 = Fma.MultiplyAdd(c4, a, b); c5 = Fma.MultiplyAdd(c5, a, b);
            c6 = Fma.MultiplyAdd(c6, a, b); c7 = Fma.MultiplyAdd(c7, a, b); c8 = Fma.MultiplyAdd(c8, a, b);
            c9 = Fma.MultiplyAdd(c9, a, b); c10 = Fma.MultiplyAdd(c10, a, b); c11 = Fma.MultiplyAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Loop512(long n)
    {
        var a = Vector512.Create(0.999999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a, c10 = a, c11 = a;
        for (long i = 0; i < n; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, a, b); c1 = Avx512F.FusedMultiplyAdd(c1, a, b); c2 = Avx512F.FusedMultiplyAdd(c2, a, b);
            c3 = Avx512F.FusedMultiplyAdd(c3, a, b); c4 = Avx512F.FusedMultiplyAdd(c4, a, b); c5 = Avx512F.FusedMultiplyAdd(c5, a, b);
            c6 = Avx512F.FusedMultiplyAdd(c6, a, b); c7 = Avx512F.FusedMultiplyAdd(c7, a, b); c8 = Avx512F.FusedMultiplyAdd(c8, a, b);
            c9 = Avx512F.FusedMultiplyAdd(c9, a, b); c10 = Avx512F.FusedMultiplyAdd(c10, a, b); c11 = Avx512F.FusedMultiplyAdd(c11, a, b);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
