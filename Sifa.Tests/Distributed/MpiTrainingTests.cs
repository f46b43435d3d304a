using System.Diagnostics;
using System.Text.Json;
using Sifa.Tensors.IO;
using Xunit.Abstractions;

namespace Sifa.Tests.Distributed;

/// <summary>
/// Data-parallel training in real processes: <c>mpirun --allow-run-as-root --oversubscribe -np 2</c> starts
/// Sifa.MpiTestHost (a tiny SIFA-Net without dropout, synthetic-motion 4×16², one step per epoch). Skipped, saying
/// why, when mpirun or the host is missing; <c>.ci/run</c> installs openmpi-bin so that they run in CI.
/// </summary>
[Collection("mpirun")]
public sealed class MpiTrainingTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    // Parameters after training: the SIFA offset convolutions start at zero and stay small, so float32 summation order
    // alone (one process on two threads against two single-threaded ranks) moves them by ~1e-5 of their norm (measured
    // 9.5e-6 with unfolded convolutions, 1.1e-5 with the implicit GEMM); every other parameter agrees to < 6e-6. A lost
    // or doubled gradient shard is off by far more.
    private const double ParameterTolerance = 3e-5;

    private static string? Mpirun() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    private static string? Built(string project, string dllName)
    {
        var root = TestPaths.RepoRoot;
        if (root == null) return null;
        var tfm = new DirectoryInfo(AppContext.BaseDirectory);
        var dll = Path.Combine(root, project, "bin", tfm.Parent!.Name, tfm.Name, dllName);
        return File.Exists(dll) ? dll : null;
    }

    private sealed record Run(int Code, string Stdout, string Stderr, TimeSpan Elapsed);

    // ranks 0: the host alone (no mpirun).
    // cli: the sifa CLI instead of the test host.
    private Run Start(int ranks, string args, Action<Process, StringWriter>? watch = null, int timeoutSeconds = 240, bool cli = false)
    {
        var mpirun = Mpirun();
        var host = cli ? Built("Sifa.Cli", "sifa.dll") : Built("Sifa.MpiTestHost", "Sifa.MpiTestHost.dll");
        Skip.If(mpirun == null, "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it)");
        Skip.If(host == null, $"{(cli ? "the sifa CLI" : "Sifa.MpiTestHost")} is not built beside the tests");
        var psi = ranks == 0 ? new ProcessStartInfo("dotnet") : new ProcessStartInfo(mpirun!);
        if (ranks > 0)
            foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(), "-x", "DOTNET_PROCESSOR_COUNT=1", "dotnet" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(host!);
        foreach (var a in SplitArgs(args)) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.Environment["DOTNET_PROCESSOR_COUNT"] = "1"; // one core per process (the machine has few)
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = new StringWriter();
        var so = p.StandardOutput.ReadToEndAsync();
        var se = Task.Run(async () =>
        {
            string? line;
            while ((line = await p.StandardError.ReadLineAsync()) != null) lock (err) { err.WriteLine(line); }
        });
        watch?.Invoke(p, err);
        if (!p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpirun -np {ranks} {args} did not end within {timeoutSeconds} s:\n{err}");
        }
        p.WaitForExit();
        se.Wait();
        var r = new Run(p.ExitCode, so.Result, err.ToString(), sw.Elapsed);
        output.WriteLine($"-np {ranks} {args}: exit {r.Code} in {r.Elapsed.TotalSeconds:F1} s\n{r.Stdout}\n{r.Stderr}");
        return r;
    }

    private static IEnumerable<string> SplitArgs(string s)
    {
        // Double quotes group words ("epoch 3 step 1").
        var parts = s.Split('"');
        for (int i = 0; i < parts.Length; i++)
            if (i % 2 == 1) yield return parts[i];
            else foreach (var w in parts[i].Split(' ', StringSplitOptions.RemoveEmptyEntries)) yield return w;
    }

    private static List<JsonElement> Metrics(string dir) =>
        File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static void AssertSameRun(string expectedDir, string actualDir, int epochs)
    {
        var a = Metrics(expectedDir); var b = Metrics(actualDir);
        Assert.Equal(epochs, a.Count);
        Assert.Equal(epochs, b.Count);
        for (int i = 0; i < epochs; i++)
            foreach (var key in new[] { "train_loss", "val_loss" })
            {
                double x = a[i].GetProperty(key).GetDouble(), y = b[i].GetProperty(key).GetDouble();
                Assert.True(Math.Abs(x - y) <= Tolerance * Math.Abs(x), $"epoch {i + 1} {key}: {x} vs {y}");
            }
        var pa = SafeTensors.Read(Path.Combine(expectedDir, "checkpoint.safetensors")).Tensors;
        var pb = SafeTensors.Read(Path.Combine(actualDir, "checkpoint.safetensors")).Tensors;
        Assert.Equal(pa.Keys.Order(), pb.Keys.Order());
        foreach (var (k, t) in pa)
        {
            var x = t.Tensor.ToArray(); var y = pb[k].Tensor.ToArray();
            double diff = 0, norm = 0;
            for (int i = 0; i < x.Length; i++) { diff += (double)(x[i] - y[i]) * (x[i] - y[i]); norm += (double)x[i] * x[i]; }
            Assert.True(Math.Sqrt(diff) <= ParameterTolerance * Math.Max(Math.Sqrt(norm), 1e-6), $"{k}: relative difference {Math.Sqrt(diff / Math.Max(norm, 1e-12)):G3}");
        }
    }

    [SkippableFact]
    [Trait("Category", "Mpi")]
    public void TwoRanksWithSyncBnEqualOneProcessWithTheWholeBatch()
    {
        string root = Directory.CreateTempSubdirectory("sifa-mpi-").FullName;
        try
        {
            // 20 steps (one per epoch) of batch 8: one process, then two ranks of 4 each.
            var one = Start(0, $"{root}/one --epochs 20 --batch 8");
            Assert.True(one.Code == 0, one.Stderr);
            var two = Start(2, $"{root}/two --epochs 20 --batch 8 --sync-bn");
            Assert.True(two.Code == 0, two.Stderr);
            AssertSameRun($"{root}/one", $"{root}/two", 20);
        }
        finally { Directory.Delete(root, true); }
    }

    [SkippableFact]
    [Trait("Category", "Mpi")]
    public void TwoRanksComposeWithGradientAccumulation()
    {
        string root = Directory.CreateTempSubdirectory("sifa-mpi-").FullName;
        try
        {
            // 6 optimizer steps, each of 2 accumulated batches of 4 (2 per rank).
            var one = Start(0, $"{root}/one --epochs 6 --batch 4 --accumulate 2");
            Assert.True(one.Code == 0, one.Stderr);
            var two = Start(2, $"{root}/two --epochs 6 --batch 4 --accumulate 2 --sync-bn");
            Assert.True(two.Code == 0, two.Stderr);
            AssertSameRun($"{root}/one", $"{root}/two", 6);
        }
        finally { Directory.Delete(root, true); }
    }

    [SkippableFact]
    [Trait("Category", "Mpi")]
    public void SifaTrainUnderMpirunPrintsAndWritesOnRankZeroOnly()
    {
        string root = Directory.CreateTempSubdirectory("sifa-mpi-").FullName;
        try
        {
            var r = Start(2, $"train --train-size 16 --val-size 8 --epochs 1 --size 16 --frames 4 --batch 8 --workers 0 --out {root}/run", cli: true);
            Assert.True(r.Code == 0, r.Stderr);
            Assert.Single(r.Stdout.Split('\n'), l => l.Contains("data-parallel over 2 ranks", StringComparison.Ordinal));
            Assert.Single(r.Stdout.Split('\n'), l => l.Contains("epoch 1/1:", StringComparison.Ordinal));
            Assert.Single(Metrics($"{root}/run"));
        }
        finally { Directory.Delete(root, true); }
    }

    [SkippableFact]
    [Trait("Category", "Mpi")]
    public void ResumingWithAnotherNumberOfRanksContinuesTheSameRun()
    {
        string root = Directory.CreateTempSubdirectory("sifa-mpi-").FullName;
        try
        {
            var one = Start(0, $"{root}/one --epochs 8 --batch 8");
            Assert.True(one.Code == 0, one.Stderr);
            var first = Start(2, $"{root}/mixed --epochs 8 --batch 8 --sync-bn --stop-after 4");
            Assert.True(first.Code == 0, first.Stderr);
            var rest = Start(0, $"{root}/mixed --epochs 8 --batch 8 --resume");
            Assert.True(rest.Code == 0, rest.Stderr);
            AssertSameRun($"{root}/one", $"{root}/mixed", 8);
        }
        finally { Directory.Delete(root, true); }
    }

    [SkippableFact]
    [Trait("Category", "Mpi")]
    public void AHangingRankMakesTheOthersAbortNamingTheStep()
    {
        string root = Directory.CreateTempSubdirectory("sifa-mpi-").FullName;
        try
        {
            var r = Start(2, $"{root}/hang --epochs 20 --batch 8 --timeout 5 --hang-rank 1 --hang-at \"epoch 3 step 1\"", timeoutSeconds: 120);
            Assert.NotEqual(0, r.Code);
            Assert.Contains("sifa: rank 0: step totals (samples, loss, accuracy) got no answer from the other ranks within 5 s at epoch 3 step 1", r.Stderr);
        }
        finally { Directory.Delete(root, true); }
    }

    [SkippableFact]
    [Trait("Category", "Mpi")]
    public void AKilledRankEndsTheJob()
    {
        string root = Directory.CreateTempSubdirectory("sifa-mpi-").FullName;
        try
        {
            var r = Start(2, $"{root}/kill --epochs 400 --batch 8 --timeout 10", (p, err) =>
            {
                // Kill rank 1 (SIGKILL) once it has trained a few steps.
                var sw = Stopwatch.StartNew();
                int pid = 0;
                while (sw.Elapsed < TimeSpan.FromSeconds(120) && !p.HasExited)
                {
                    string text; lock (err) text = err.ToString();
                    var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("rank 1 pid ", StringComparison.Ordinal));
                    if (line != null && File.Exists(Path.Combine(root, "kill", "metrics.jsonl")) && File.ReadAllLines(Path.Combine(root, "kill", "metrics.jsonl")).Length >= 3)
                    {
                        pid = int.Parse(line["rank 1 pid ".Length..].Trim());
                        break;
                    }
                    Thread.Sleep(100);
                }
                Assert.True(pid > 0, "rank 1 never reported its pid / trained 3 steps:\n" + err);
                Process.GetProcessById(pid).Kill();
            }, timeoutSeconds: 180);
            Assert.NotEqual(0, r.Code);
            Assert.True(Metrics($"{root}/kill").Count < 400, "the job ran to the end");
        }
        finally { Directory.Delete(root, true); }
    }
}
