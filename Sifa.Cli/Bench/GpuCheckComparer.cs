using System.Diagnostics;
using Sifa.Tensors;

namespace Sifa.Cli.Bench;

/// <summary>
/// Runs one op on the CPU backend and on the device, and prints its <c>kernel</c> line: max relative error against the
/// CPU, the first device call (kernel compilation included) and the median of warm calls, each synchronised.
/// The error is taken from the first device call, before warm calls run again (in-place ops change their inputs).
/// </summary>
internal sealed class Comparer(IBackend cpu, IBackend device, IDeviceInfo info, CheckLog log, int warmRuns)
{
    public IBackend Device => device;

    /// <summary>Seeded standard-normal values on <paramref name="be"/>'s device: the same values for every backend.</summary>
    public static Tensor In(IBackend be, int seed, int[] shape, float std = 1f, float mean = 0f) =>
        Tensor.RandN(new Generator((ulong)seed), shape, mean, std).ToDevice(be.Device);

    /// <summary>Seeded uniform values in [<paramref name="low"/>, <paramref name="high"/>) on <paramref name="be"/>'s device.</summary>
    public static Tensor Uniform(IBackend be, int seed, int[] shape, float low, float high) =>
        Tensor.Rand(new Generator((ulong)seed), shape, low, high).ToDevice(be.Device);

    /// <summary>Checks an op whose inputs <paramref name="setup"/> builds for a backend (untimed); the returned function is the timed call.</summary>
    public void Kernel(string name, string shape, Func<IBackend, Func<Tensor?[]>> setup) =>
        Prepared(name, shape, be =>
        {
            var run = setup(be);
            return () => run;
        });

    /// <summary>
    /// Checks an op that needs fresh state before every timed call (e.g. a backward pass needs its forward):
    /// <paramref name="setup"/> gives, per backend, a preparation that runs untimed and returns the timed call.
    /// </summary>
    public void Prepared(string name, string shape, Func<IBackend, Func<Func<Tensor?[]>>> setup)
    {
        try
        {
            using var scope = TensorScope.Begin(); // every buffer of the check goes back when it ends
            var cpuRun = setup(cpu)();
            long t0 = Stopwatch.GetTimestamp();
            var cpuOut = cpuRun();
            double cpuSec = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var expected = cpuOut.Select(t => t?.ToArray()).ToArray();

            var prepare = setup(device);
            var run = prepare();
            info.Synchronize();
            t0 = Stopwatch.GetTimestamp();
            var outs = run();
            info.Synchronize();
            double first = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double maxRel = MaxRel(expected, outs.Select(t => t?.ToArray()).ToArray());

            var warm = new double[warmRuns];
            for (int i = 0; i < warmRuns; i++)
            {
                run = prepare();
                info.Synchronize();
                t0 = Stopwatch.GetTimestamp();
                run();
                info.Synchronize();
                warm[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }
            Array.Sort(warm);
            bool ok = log.Record(name, maxRel, GpuCheck.Tolerance);
            log.Line($"kernel {name} maxrel={Fmt.E(maxRel)} first_ms={Fmt.Ms(first)} warm_ms={Fmt.Ms(warm.Length > 0 ? warm[warm.Length / 2] : double.NaN)} "
                + $"cpu_ms={Fmt.Ms(cpuSec)} shape={shape} ok={(ok ? "true" : "false")}");
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            log.Error("kernel", name, e);
        }
    }

    // The worst output of the op; outputs that are null on both sides (gradients not asked for) are skipped.
    private static double MaxRel(float[]?[] expected, float[]?[] actual)
    {
        if (expected.Length != actual.Length) return double.NaN;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] == null && actual[i] == null) continue;
            if (expected[i] == null || actual[i] == null) return double.NaN;
            double r = Fmt.MaxRel(expected[i]!, actual[i]!);
            if (double.IsNaN(r)) return r;
            worst = Math.Max(worst, r);
        }
        return worst;
    }
}
