using System.CommandLine;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Cli.Commands;

/// <summary><c>sifa flops</c>: multiply-adds of one view, counted by running the forward pass.</summary>
internal static class FlopsCommand
{
    public static Command Create()
    {
        var model = new ModelOptions("sifa-r50");
        var frames = new Option<int>("--frames") { DefaultValueFactory = _ => 16, Description = "Frames per view." };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 256, Description = "Frame size." };
        var classes = new Option<int>("--classes") { DefaultValueFactory = _ => 400, Description = "Classifier outputs." };
        var cmd = new Command("flops", "Multiply-adds per view; last line gflops=<G multiply-adds> params=<count>.") { frames, size, classes };
        model.AddTo(cmd);
        cmd.SetAction(r =>
        {
            if (model.ListRequested(r)) return 0;
            var name = model.Label(r);
            int t = r.GetValue(frames), s = r.GetValue(size);
            Checks.Clip(t, s);
            Checks.Range("--classes", r.GetValue(classes), 1);
            if (r.GetValue(model.StemStride) is int st) Checks.Range("--stem-stride", st, 1, t);
            var spec = model.Spec(r, r.GetValue(classes), s);
            VideoModel m;
            try { m = Presets.Create(spec); }
            catch (ArgumentException e) { throw new ArgumentException($"--model {name} cannot take --size {s}: {e.Message}", e); }
            if (t % m.TemporalStride != 0) throw new ArgumentException($"--frames {t} is not a multiple of the temporal stem stride {m.TemporalStride}");
            m.Eval();
            long macs;
            using (GradMode.NoGrad())
            using (var counter = FlopCounter.Scope())
            {
                try { m.Forward(new Variable(Tensor.Zeros(1, t, 3, s, s))); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException)
                {
                    throw new ArgumentException($"--model {name} cannot take --frames {t} --size {s}: {e.Message}", e);
                }
                macs = counter.Macs;
            }
            Console.WriteLine($"model={r.GetValue(model.Model)} frames={t} size={s} (multiply-adds of conv, linear, matmul and SIFA correlation/aggregation)");
            Console.WriteLine($"gflops={macs / 1e9:F2} params={m.ParameterCount()}");
            return 0;
        });
        return cmd;
    }
}
