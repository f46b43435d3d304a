using System.Diagnostics;
using System.Globalization;
using Sifa.Tensors;

namespace Sifa.Cli.Bench;

/// <summary>
/// <c>sifa bench conv</c> and <c>sifa bench bn</c>: forward and backward of the convolutions and batch norms of a
/// ResNet-50 on N frames of 224² (the shapes of <c>sifa-r50</c>/<c>c2d-r50</c>), one line per shape, the same shapes and
/// output format as <c>bench/torch_ops.py</c> so the two compare line by line.
/// </summary>
public static class OpsBench
{
    /// <summary>The distinct ResNet-50 convolutions at 224²: (Cin, Cout, kernel, stride, input size, count in the net).</summary>
    public static readonly (int Cin, int Cout, int K, int Stride, int Hw, int Count)[] R50Convs =
    {
        (3, 64, 7, 2, 224, 1),
        (64, 64, 1, 1, 56, 1), (64, 64, 3, 1, 56, 3), (64, 256, 1, 1, 56, 4), (256, 64, 1, 1, 56, 2),
        (256, 128, 1, 1, 56, 1), (128, 128, 3, 2, 56, 1), (128, 512, 1, 1, 28, 4), (256, 512, 1, 2, 56, 1),
        (512, 128, 1, 1, 28, 3), (128, 128, 3, 1, 28, 3),
        (512, 256, 1, 1, 28, 1), (256, 256, 3, 2, 28, 1), (256, 1024, 1, 1, 14, 6), (512, 1024, 1, 2, 28, 1),
        (1024, 256, 1, 1, 14, 5), (256, 256, 3, 1, 14, 5),
        (1024, 512, 1, 1, 14, 1), (512, 512, 3, 2, 14, 1), (512, 2048, 1, 1, 7, 3), (1024, 2048, 1, 2, 14, 1),
        (2048, 512, 1, 1, 7, 2), (512, 512, 3, 1, 7, 2),
    };

    /// <summary>
    /// Times every ResNet-50 convolution shape (forward; backward for input and weight). Besides wall time each line
    /// gives the rate per core-second of CPU time (<c>fwd_cpu_gflops</c>, robust on a loaded machine) and its share of
    /// one core's measured FMA peak (<c>fwd_eff</c>; <see cref="PeakBench.PerCorePeak"/>): on a quiet machine with all
    /// cores busy, that is the efficiency against the machine's peak.
    /// </summary>
    /// <param name="n">Frames (batch of the 2-D convolution).</param>
    /// <param name="repeats">Timed runs per shape (median reported).</param>
    /// <param name="be">The backend of the device to time.</param>
    /// <param name="output">Where the lines go.</param>
    /// <returns>0.</returns>
    public static int RunConv(int n, int repeats, IBackend be, TextWriter output)
    {
        var gen = new Generator(1);
        double totF = 0, totB = 0, totDx = 0, totDw = 0;
        var ci = CultureInfo.InvariantCulture;
        double peak = PeakBench.PerCorePeak();
        output.WriteLine(Sifa.Tensors.Cpu.CpuFeatures.Describe());
        output.WriteLine(string.Format(ci, "fma_peak_per_core_gflops={0:F1}", peak));
        foreach (var (cin, cout, k, st, hw, count) in R50Convs)
        {
            var x = Tensor.RandN(gen, new[] { n, cin, hw, hw }).ToDevice(be.Device);
            var w = Tensor.RandN(gen, new[] { cout, cin, k, k }).ToDevice(be.Device);
            var g = Conv2dGeometry.Square(st, k / 2);
            var y = be.Conv2dForward(x, w, null, g);
            var dy = Tensor.RandN(gen, y.Shape).ToDevice(be.Device);
            double f = Median(repeats, () => be.Conv2dForward(x, w, null, g), out double fCpu);
            double b = Median(repeats, () => be.Conv2dBackward(dy, x, w, g, cin != 3, true, false), out double bCpu);
            // Each gradient alone, to tell which of the two products of the backward trails.
            double dx = cin != 3 ? Median(repeats, () => be.Conv2dBackward(dy, x, w, g, true, false, false), out _) : 0;
            double dw = Median(repeats, () => be.Conv2dBackward(dy, x, w, g, false, true, false), out _);
            totF += f * count; totB += b * count; totDx += dx * count; totDw += dw * count;
            double flops = 2.0 * n * cout * cin * k * k * y.Shape[2] * y.Shape[3];
            double bFlops = flops * (cin != 3 ? 2 : 1);
            output.WriteLine(string.Format(ci, "conv cin={0} cout={1} k={2} s={3} hw={4} x{5} fwd_ms={6:F2} bwd_ms={7:F2} fwd_gflops={8:F1} bwd_gflops={9:F1} " +
                "fwd_cpu_gflops={10:F1} bwd_cpu_gflops={11:F1} fwd_eff={12:F2} bwd_eff={13:F2} dx_ms={14:F2} dw_ms={15:F2}",
                cin, cout, k, st, hw, count, f * 1e3, b * 1e3, flops / f / 1e9, bFlops / b / 1e9,
                flops / fCpu / 1e9, bFlops / bCpu / 1e9, flops / fCpu / 1e9 / peak, bFlops / bCpu / 1e9 / peak, dx * 1e3, dw * 1e3));
        }
        output.WriteLine(string.Format(ci, "conv_total fwd_s={0:F3} bwd_s={1:F3} dx_s={2:F3} dw_s={3:F3}", totF, totB, totDx, totDw));
        return 0;
    }

    /// <summary>Times training-mode batch norm (+ ReLU) forward and backward on the ResNet-50 activation shapes.</summary>
    /// <param name="n">Frames.</param>
    /// <param name="repeats">Timed runs per shape (median reported).</param>
    /// <param name="be">The backend of the device to time.</param>
    /// <param name="output">Where the lines go.</param>
    /// <returns>0.</returns>
    public static int RunBn(int n, int repeats, IBackend be, TextWriter output)
    {
        var gen = new Generator(1);
        var ci = CultureInfo.InvariantCulture;
        foreach (var (c, hw) in new[] { (64, 112), (64, 56), (256, 56), (128, 28), (512, 28), (256, 14), (1024, 14), (512, 7), (2048, 7) })
        {
            var x = Tensor.RandN(gen, new[] { n, c, hw, hw }).ToDevice(be.Device);
            var dy = Tensor.RandN(gen, x.Shape).ToDevice(be.Device);
            var wt = Tensor.Ones(c).ToDevice(be.Device); var bs = Tensor.Zeros(c).ToDevice(be.Device);
            var rm = Tensor.Zeros(c).ToDevice(be.Device); var rv = Tensor.Ones(c).ToDevice(be.Device);
            var (_, mean, inv) = be.BatchNormTrainForward(x, wt, bs, rm, rv, 0.1f, 1e-5f);
            double f = Median(repeats, () => be.BatchNormTrainForward(x, wt, bs, rm, rv, 0.1f, 1e-5f));
            double b = Median(repeats, () => be.BatchNormBackward(dy, x, wt, mean, inv, true, true, true, true));
            double r = Median(repeats, () => x.Relu());
            output.WriteLine(string.Format(ci, "bn c={0} hw={1} fwd_ms={2:F2} bwd_ms={3:F2} relu_ms={4:F2}", c, hw, f * 1e3, b * 1e3, r * 1e3));
        }
        return 0;
    }

    private static double Median(int repeats, Action body) => Median(repeats, body, out _);

    // Median wall seconds of one run; cpuSeconds: the process's mean CPU seconds per run (all threads). Every run is
    // inside a TensorScope, as in a training step: outputs come from the buffer pool, so the figures do not include
    // the page faults of fresh multi-megabyte arrays (up to half of a fast convolution's time on this VM).
    private static double Median(int repeats, Action inner, out double cpuSeconds)
    {
        void body() { using (TensorScope.Begin()) inner(); }
        body();
        var t = new double[Math.Max(1, repeats)];
        for (int i = 0; i < t.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            t[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        var proc = Process.GetCurrentProcess();
        var cpu0 = proc.TotalProcessorTime;
        body();
        proc.Refresh();
        cpuSeconds = Math.Max((proc.TotalProcessorTime - cpu0).TotalSeconds, 1e-9);
        Array.Sort(t);
        return t[t.Length / 2];
    }
}
