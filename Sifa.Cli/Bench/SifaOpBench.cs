using System.Diagnostics;
using System.Globalization;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;

namespace Sifa.Cli.Bench;

/// <summary>
/// Micro-benchmark of the fused SIFA op (forward and backward through <see cref="SifaOps.Sifa"/>) on a device: k = 3, dilation 1, one group,
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
    /// <param name="device">The device (the CPU when null).</param>
    /// <returns>0.</returns>
    public static int Run(int nt, int t, int c, int h, int w, int repeats, TextWriter output, Device? device = null)
    {
        repeats = Math.Max(1, repeats);
        var dev = device ?? Device.Cpu;
        var gen = new Generator(1234);
        Tensor Rand(int[] shape, float scale) => Tensor.Rand(gen, shape, -scale, scale).ToDevice(dev);
        var x = new Variable(Rand([nt, c, h, w], 1), requiresGrad: true);
        var off = new Variable(Rand([nt, 18, h, w], 2), requiresGrad: true);
        var dy = Rand([nt, c, h, w], 1);

        var fwd = new double[repeats];
        var bwd = new double[repeats];
        for (int i = -1; i < repeats; i++)
        {
            x.Grad = null; off.Grad = null;
            long t0 = Stopwatch.GetTimestamp();
            var y = SifaOps.Sifa(x, off, t);
            y.Data.ToArray(); // waits for an asynchronous device
            long t1 = Stopwatch.GetTimestamp();
            y.Backward(dy);
            x.Grad!.ToArray();
            long t2 = Stopwatch.GetTimestamp();
            if (i < 0) continue;
            fwd[i] = (t1 - t0) / (double)Stopwatch.Frequency;
            bwd[i] = (t2 - t1) / (double)Stopwatch.Frequency;
        }
        Array.Sort(fwd);
        Array.Sort(bwd);
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(inv, "sifa_op NT={0} T={1} C={2} H={3} W={4} k=3 device={5} threads={6} repeats={7}",
            nt, t, c, h, w, dev, Environment.ProcessorCount, repeats));
        output.WriteLine(string.Format(inv, "sec_fwd={0:0.000000} sec_bwd={1:0.000000}", fwd[repeats / 2], bwd[repeats / 2]));
        return 0;
    }
}
