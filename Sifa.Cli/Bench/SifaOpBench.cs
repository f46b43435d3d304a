using System.Diagnostics;
using System.Globalization;
using Sifa.Tensors.Cpu;

namespace Sifa.Cli.Bench;

/// <summary>
/// Micro-benchmark of the fused CPU SIFA op kernels (<see cref="SifaKernels"/>): k = 3, dilation 1, one group,
/// last_frame = self, normalize = none (the paper's defaults), random features and offsets.
/// </summary>
public static class SifaOpBench
{
    /// <summary>
    /// Times forward and backward (median over <paramref name="repeats"/> runs after one warm-up) and prints
    /// <c>sec_fwd=... sec_bwd=...</c> as the last line.
    /// </summary>
    /// <param name="nt">Frames N·T.</param>
    /// <param name="t">Frames per clip T.</param>
    /// <param name="c">Channels.</param>
    /// <param name="h">Height.</param>
    /// <param name="w">Width.</param>
    /// <param name="repeats">Timed runs (at least 1).</param>
    /// <param name="output">Where the results go.</param>
    /// <returns>0.</returns>
    public static int Run(int nt, int t, int c, int h, int w, int repeats, TextWriter output)
    {
        repeats = Math.Max(1, repeats);
        var s = new SifaShape(nt, t, c, h, w, 3, 1, 1, LastFrameNone: false, Softmax: false);
        s.Validate();
        var rng = new Random(1234);
        float[] Rand(long n, double scale)
        {
            var a = new float[n];
            for (long i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
            return a;
        }
        var x = Rand(s.XLength, 1);
        var off = Rand(s.OffsetsLength, 2);
        var dy = Rand(s.XLength, 1);
        var y = new float[s.XLength];
        var wts = new float[s.WeightsLength];
        var dx = new float[s.XLength];
        var dOff = new float[s.OffsetsLength];

        var fwd = new double[repeats];
        var bwd = new double[repeats];
        for (int i = -1; i < repeats; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            SifaKernels.Forward(x, off, y, wts, s);
            long t1 = Stopwatch.GetTimestamp();
            SifaKernels.Backward(dy, x, off, wts, dx, dOff, s);
            long t2 = Stopwatch.GetTimestamp();
            if (i < 0) continue;
            fwd[i] = (t1 - t0) / (double)Stopwatch.Frequency;
            bwd[i] = (t2 - t1) / (double)Stopwatch.Frequency;
        }
        Array.Sort(fwd);
        Array.Sort(bwd);
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(inv, "sifa_op NT={0} T={1} C={2} H={3} W={4} k=3 threads={5} repeats={6}",
            nt, t, c, h, w, CpuParallel.Threads, repeats));
        output.WriteLine(string.Format(inv, "sec_fwd={0:0.000000} sec_bwd={1:0.000000}", fwd[repeats / 2], bwd[repeats / 2]));
        return 0;
    }
}
