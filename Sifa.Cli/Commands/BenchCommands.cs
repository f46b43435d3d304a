using System.CommandLine;
using Sifa.Cli.Bench;

namespace Sifa.Cli.Commands;

/// <summary><c>sifa bench gemm|peak|sifa-op|conv|bn|step|gpu</c>: micro and training-step benchmarks.</summary>
internal static class BenchCommands
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks: matrix product, SIFA op, training step.");

        var m = new Option<int>("--m") { DefaultValueFactory = _ => 1024, Description = "Rows of A and C." };
        var n = new Option<int>("--n") { DefaultValueFactory = _ => 1024, Description = "Columns of B and C." };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 1024, Description = "Inner dimension." };
        var reps = new Option<int>("--repeats") { DefaultValueFactory = _ => 10, Description = "Timed runs (median reported)." };
        var path = new Option<string>("--path") { Description = "SGEMM kernel: best (default), avx512, avx2 or scalar." };
        var check = new Option<bool>("--check") { Description = "Check the product on odd shapes against a double reference instead of timing it." };
        var gthreads = new Option<int>("--threads") { DefaultValueFactory = _ => 0, Description = "Threads (0: all cores)." };
        var gemm = new Command("gemm", "Row-major C = A·B in float32 on all cores; last line gflops=<median>.") { m, n, k, reps, path, check, gthreads };
        gemm.SetAction(r => r.GetValue(check)
            ? GemmBench.Check(Console.Out, GemmBench.ParsePath(r.GetValue(path)))
            : GemmBench.Run(Checks.Range("--m", r.GetValue(m), 1), Checks.Range("--n", r.GetValue(n), 1), Checks.Range("--k", r.GetValue(k), 1),
                Checks.Range("--repeats", r.GetValue(reps), 1), Console.Out, GemmBench.ParsePath(r.GetValue(path)), Checks.Range("--threads", r.GetValue(gthreads), 0)));
        bench.Add(gemm);

        var peakReps = new Option<int>("--repeats") { DefaultValueFactory = _ => 3, Description = "Runs per configuration (best kept)." };
        var peak = new Command("peak", "FMA peak of the machine per instruction set, one thread and all cores; last line gflops=<all cores, widest set>.") { peakReps };
        peak.SetAction(r => PeakBench.Run(Checks.Range("--repeats", r.GetValue(peakReps), 1), Console.Out));
        bench.Add(peak);

        var nt = new Option<int>("--nt") { DefaultValueFactory = _ => 8, Description = "Frames N·T." };
        var t = new Option<int>("--frames") { DefaultValueFactory = _ => 8, Description = "Frames per clip T." };
        var c = new Option<int>("--channels") { DefaultValueFactory = _ => 128, Description = "Channels." };
        var hw = new Option<int>("--size") { DefaultValueFactory = _ => 28, Description = "Height = width." };
        var device = DeviceOption.Create();
        var sifa = new Command("sifa-op", "Fused SIFA op forward and backward; last line sec_fwd=… sec_bwd=….") { nt, t, c, hw, reps, device };
        sifa.SetAction(r =>
        {
            int frames = Checks.Range("--frames", r.GetValue(t), 1, Checks.MaxFrames);
            if (Checks.Range("--nt", r.GetValue(nt), 1) % frames != 0) throw new ArgumentException($"--nt {r.GetValue(nt)} is not a multiple of --frames {frames}");
            return SifaOpBench.Run(r.GetValue(nt), frames, Checks.Range("--channels", r.GetValue(c), 1), Checks.Range("--size", r.GetValue(hw), 1, Checks.MaxSize),
                r.GetValue(hw), Checks.Range("--repeats", r.GetValue(reps), 1), Console.Out, DeviceOption.Resolve(r.GetValue(device)!));
        });
        bench.Add(sifa);

        var frames = new Option<int>("--frames") { DefaultValueFactory = _ => 8, Description = "Frames (2-D batch)." };
        var reps2 = new Option<int>("--repeats") { DefaultValueFactory = _ => 5, Description = "Timed runs per shape (median reported)." };
        var conv = new Command("conv", "ResNet-50 convolution shapes, forward and backward; compare with bench/torch_ops.py conv.") { frames, reps2, device };
        conv.SetAction(r => OpsBench.RunConv(Checks.Range("--frames", r.GetValue(frames), 1, Checks.MaxFrames), Checks.Range("--repeats", r.GetValue(reps2), 1),
            DeviceOption.Backend(r.GetValue(device)!), Console.Out));
        bench.Add(conv);
        var bn = new Command("bn", "ResNet-50 batch-norm / ReLU shapes, forward and backward; compare with bench/torch_ops.py bn.") { frames, reps2, device };
        bn.SetAction(r => OpsBench.RunBn(Checks.Range("--frames", r.GetValue(frames), 1, Checks.MaxFrames), Checks.Range("--repeats", r.GetValue(reps2), 1),
            DeviceOption.Backend(r.GetValue(device)!), Console.Out));
        bench.Add(bn);

        bench.Add(StepBench.CreateCommand());
        bench.Add(GpuCheck.CreateCommand());
        return bench;
    }
}
