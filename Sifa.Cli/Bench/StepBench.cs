using System.CommandLine;
using System.Diagnostics;
using Sifa.Autograd;
using Sifa.Cli.Commands;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Cli.Bench;

/// <summary><c>sifa bench step</c>: median seconds per training step (forward, backward, SGD) on random clips.</summary>
public static class StepBench
{
    /// <summary>Builds the command.</summary>
    /// <returns>The command.</returns>
    public static Command CreateCommand()
    {
        var model = new ModelOptions("sifa-r50");
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1, Description = "Clips per step." };
        var frames = new Option<int>("--frames") { DefaultValueFactory = _ => 8, Description = "Frames per clip." };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 224, Description = "Frame size." };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 3, Description = "Timed steps after one warm-up." };
        var classes = new Option<int>("--classes") { DefaultValueFactory = _ => 400, Description = "Classifier outputs." };
        var device = DeviceOption.Create();
        var cmd = new Command("step", "Training-step benchmark; last line sec_per_step=<median> peak_mb=<peak working set>.")
            { batch, frames, size, steps, classes, device };
        model.AddTo(cmd);
        cmd.SetAction(r => model.ListRequested(r) ? 0 : Run(model.Spec(r, r.GetValue(classes), r.GetValue(size)), r.GetValue(batch), r.GetValue(frames),
            r.GetValue(steps), DeviceOption.Resolve(r.GetValue(device)!), Console.Out));
        return cmd;
    }

    /// <summary>Runs the benchmark.</summary>
    /// <param name="name">Preset.</param>
    /// <param name="batch">Clips per step.</param>
    /// <param name="frames">Frames.</param>
    /// <param name="size">Frame size.</param>
    /// <param name="steps">Timed steps.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="stemStride">Temporal stem stride override.</param>
    /// <param name="device">Where the model and the clips live.</param>
    /// <param name="output">Where to print.</param>
    /// <returns>Exit code.</returns>
    public static int Run(string name, int batch, int frames, int size, int steps, int classes, int? stemStride, Device device, TextWriter output) =>
        Run(new ModelSpec { Preset = name, NumClasses = classes, StemStride = stemStride, Image = size }, batch, frames, steps, device, output);

    /// <summary>Runs the benchmark on the model <paramref name="spec"/> describes (its image size is the frame size).</summary>
    public static int Run(ModelSpec spec, int batch, int frames, int steps, Device device, TextWriter output)
    {
        int size = spec.Image, classes = spec.NumClasses;
        if (device == Device.Cpu) output.WriteLine(Sifa.Tensors.Cpu.CpuFeatures.Describe());   // the ISA every figure was taken on
        var gen = new Generator(1);
        var model = Presets.Create(spec, gen);
        model.To(device).Train();
        var opt = new SGD(model.Parameters(), lr: 0.01f, momentum: 0.9f, weightDecay: 1e-4f);
        var clip = Tensor.RandN(gen, new[] { batch, frames, 3, size, size }).ToDevice(device);
        var target = Enumerable.Range(0, batch).Select(i => i % classes).ToArray();
        var times = new List<double>();
        double optTime = 0;
        for (int s = 0; s <= steps; s++)
        {
            if (s == 1) OpProfiler.Reset();
            long alloc0 = GC.GetTotalAllocatedBytes(), misses0 = BufferPool.Misses;
            BufferPool.ResetLowest();
            var pause0 = GC.GetTotalPauseDuration();
            var sw = Stopwatch.StartNew();
            OpProfiler.Mark();
            float lossValue = TrainStep(model, opt, clip, target, out double stepOptTime);
            optTime += s > 0 ? stepOptTime : 0;
            sw.Stop();
            if (s > 0) times.Add(sw.Elapsed.TotalSeconds);
            // Managed allocation volume and GC pause time of the step: what buffer reuse (or its absence) costs.
            double allocMb = (GC.GetTotalAllocatedBytes() - alloc0) / (1024.0 * 1024.0);
            double pauseMs = (GC.GetTotalPauseDuration() - pause0).TotalMilliseconds;
            output.WriteLine($"step {s}{(s == 0 ? " (warm-up)" : "")}: {sw.Elapsed.TotalSeconds:F3} s, loss {lossValue:F4}, allocated {allocMb:F0} MB ({BufferPool.Misses - misses0} pool misses), gc pause {pauseMs:F0} ms, peak {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MB, pooled {BufferPool.PooledBytes >> 20} MB ({BufferPool.LowestPooledBytes >> 20} MB idle at the fullest)");
        }
        if (OpProfiler.Enabled && steps > 0)
        {
            output.Write(OpProfiler.Report(steps));
            output.WriteLine($"optimizer step: {optTime / steps:F3} s");
        }
        times.Sort();
        double median = times.Count == 0 ? double.NaN : times[times.Count / 2];
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        output.WriteLine($"sec_per_step={median:F4} peak_mb={peak / (1024.0 * 1024.0):F0}");
        return 0;
    }

    /// <summary>
    /// One training step as the trainer runs it (forward, cross-entropy, backward, optimizer step inside a
    /// <see cref="TensorScope"/>, so the step's buffers are reused by the next); <c>bench gpu</c> times the same code.
    /// Returns the loss, read after the step; <paramref name="optimizerSeconds"/> is the optimizer's share.
    /// </summary>
    internal static float TrainStep(VideoModel model, Optimizer opt, Tensor clip, int[] target, out double optimizerSeconds)
    {
        using (TensorScope.Begin())
        {
            opt.ZeroGrad();
            var loss = Ops.CrossEntropy(model.Forward(new Variable(clip)), target);
            loss.Backward();
            long tOpt = Stopwatch.GetTimestamp();
            opt.Step();
            opt.ZeroGrad();
            optimizerSeconds = Stopwatch.GetElapsedTime(tOpt).TotalSeconds;
            return loss.Data.Item();
        }
    }
}
