using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sifa.Training;
using Xunit.Abstractions;

namespace Sifa.Tests.TrainingTests;

/// <summary>
/// Kills <c>sifa train</c> (a child process) while it trains and saves, then resumes it: the result must equal an
/// uninterrupted run's (metrics lines and final checkpoint bytes, the run id aside) or the resume must refuse in one
/// clear line — never diverge silently. Deterministic kills at every point of the save sequence
/// (<c>SIFA_CRASH_AT</c>) plus a few seeded random SIGKILLs; <c>SIFA_KILL_TEST_FULL=1</c> adds the epoch-1 points and
/// runs 20 random kills.
/// </summary>
public sealed class CheckpointKillTests(ITestOutputHelper output)
{
    private const int Epochs = 3;
    private static readonly bool Full = Environment.GetEnvironmentVariable("SIFA_KILL_TEST_FULL") == "1";

    [SkippableFact]
    [Trait("Category", "Training")]
    public void KilledRunsResumeToTheUninterruptedResult()
    {
        var cli = Cli.Find()!;
        Skip.If(cli == null, "the sifa CLI is not built beside the tests");
        string root = Directory.CreateTempSubdirectory("sifa-kill-").FullName;
        try
        {
            var sw = Stopwatch.StartNew();
            var reference = Path.Combine(root, "reference");
            var r0 = cli.Train(reference);
            Assert.True(r0.Code == 0, r0.Stderr);
            double runSeconds = sw.Elapsed.TotalSeconds;
            var expected = Result.Of(reference);

            var cases = new List<(string Name, string? CrashAt, double KillAfter)>();
            foreach (int epoch in Full ? new[] { 1, 2 } : new[] { 2 })
                foreach (var p in CheckpointStore.SavePoints.Where(p => epoch > 1 || p != "old-moved")) // epoch 1 supersedes nothing
                    cases.Add(($"{p}@{epoch}", $"{p}@{epoch}", -1));
            var rng = new Random(20240613);
            for (int i = 0; i < (Full ? 20 : 3); i++)
            {
                double t = rng.NextDouble() * runSeconds;
                cases.Add(($"kill {i + 1} at {t:F2}s", null, t));
            }

            var outcomes = new List<string>();
            var par = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount / 2, 1, 4) };
            Parallel.ForEach(cases.Select((c, i) => (c, i)), par, x =>
            {
                var (c, i) = x;
                string dir = Path.Combine(root, $"case{i:D2}");
                var first = c.CrashAt != null
                    ? cli.Train(dir, crashAt: c.CrashAt)
                    : cli.Train(dir, killAfter: TimeSpan.FromSeconds(c.KillAfter));
                if (c.CrashAt != null) Assert.True(first.Code != 0, $"{c.Name}: the crash hook did not fire\n{first.Stdout}");
                // Epoch-2 points always leave epoch 1 committed, so a plain --resume must find it; otherwise auto.
                bool mustHave = c.CrashAt?.EndsWith("@2", StringComparison.Ordinal) == true;
                var resumed = first.Killed || c.CrashAt != null ? cli.Train(dir, mustHave ? "--resume" : "--resume auto") : first;
                string outcome;
                if (resumed.Code == 0)
                {
                    var got = Result.Of(dir);
                    Assert.True(expected.Metrics.SequenceEqual(got.Metrics), $"{c.Name}: metrics diverged\n{string.Join("\n", got.Metrics)}\n{resumed.Stdout}");
                    Assert.True(expected.Model == got.Model, $"{c.Name}: final checkpoint differs");
                    Assert.True(expected.Optimizer == got.Optimizer, $"{c.Name}: final optimizer state differs");
                    Assert.Equal(new[] { CheckpointStore.CheckpointFile, "ckpt-epoch-0003", CheckpointStore.CurvesFile, CheckpointStore.LatestFile, CheckpointStore.MetricsFile },
                                 Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                    var from = Regex.Match(resumed.Stdout, @"resumed from .* after epoch (\d+)");
                    outcome = !first.Killed && c.CrashAt == null ? "finished before the kill"
                        : "identical (" + (from.Success ? $"resumed after epoch {from.Groups[1].Value}" : "nothing committed: started afresh") +
                          (resumed.Stdout.Contains("removed leftovers", StringComparison.Ordinal) ? ", leftovers removed)" : ")");
                }
                else
                {
                    var line = resumed.Stderr.Trim();
                    Assert.True(line.StartsWith("sifa: ", StringComparison.Ordinal) && !line.Contains('\n'), $"{c.Name}: resume failed without one clear line:\n{resumed.Stderr}");
                    outcome = "refused: " + line;
                }
                lock (outcomes) outcomes.Add($"{c.Name}: {outcome}");
            });
            foreach (var o in outcomes.Order(StringComparer.Ordinal)) output.WriteLine(o);
            foreach (var g in outcomes.GroupBy(o => o[(o.IndexOf(": ", StringComparison.Ordinal) + 2)..]).OrderBy(g => g.Key, StringComparer.Ordinal))
                output.WriteLine($"{g.Count(),3} {g.Key}");
            output.WriteLine($"{cases.Count} cases in {sw.Elapsed.TotalSeconds:F0}s (one run {runSeconds:F1}s)");
            // Every save point is recoverable by construction: a kill there must never make resuming impossible.
            Assert.DoesNotContain(outcomes, o => o.Contains("refused", StringComparison.Ordinal));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [SkippableFact]
    [Trait("Category", "Training")]
    public void DiskFullOnATenMegabyteTmpfsIsOneLineAndKeepsTheLastCheckpoint()
    {
        var cli = Cli.Find()!;
        Skip.If(cli == null, "the sifa CLI is not built beside the tests");
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "mounting a tmpfs needs root on Linux");
        string root = Directory.CreateTempSubdirectory("sifa-enospc-").FullName, mnt = Path.Combine(root, "mnt");
        Directory.CreateDirectory(mnt);
        Skip.IfNot(Exec("mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", mnt) == 0, "mount -t tmpfs failed (no CAP_SYS_ADMIN)");
        try
        {
            // One checkpoint (model 2.2 MB + optimizer 4.4 MB) fits; the next one, written beside it, does not.
            var out1 = Path.Combine(mnt, "run");
            var r = cli.Train(out1);
            Assert.Equal(1, r.Code);
            var line = r.Stderr.Trim();
            output.WriteLine(line);
            Assert.DoesNotContain('\n', line);
            Assert.Matches(@"^sifa: cannot save the epoch \d checkpoint in .*: no space left on device; the previous checkpoint .*ckpt-epoch-000\d \(epoch \d\) is intact", line);
            var left = Directory.EnumerateFileSystemEntries(out1).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            Assert.DoesNotContain(left, f => f!.StartsWith('.'));
            Assert.Single(left, f => f!.StartsWith("ckpt-epoch-", StringComparison.Ordinal));

            // The kept checkpoint resumes (on a disk with room) to the uninterrupted result.
            var moved = Path.Combine(root, "moved");
            Exec("cp", "-a", out1, moved);
            var r2 = cli.Train(moved, "--resume");
            Assert.True(r2.Code == 0, r2.Stderr);
            var reference = Path.Combine(root, "reference");
            Assert.Equal(0, cli.Train(reference).Code);
            Assert.Equal(Result.Of(reference), Result.Of(moved));
        }
        finally
        {
            Exec("umount", mnt);
            Directory.Delete(root, recursive: true);
        }
    }

    private static int Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception) { return -1; }
    }

    /// <summary>What a finished run leaves: metrics (wall times dropped) and the final model and optimizer files with
    /// the run id and the recorded command blanked (they differ per run; everything else must match byte for byte).</summary>
    private sealed record Result(string Metrics0, string Model, string Optimizer)
    {
        public string[] Metrics => Metrics0.Split('\n');

        public static Result Of(string dir)
        {
            var metrics = File.ReadAllLines(Path.Combine(dir, CheckpointStore.MetricsFile)).Select(l => Regex.Replace(l, "\"seconds\":[^,}]*", ""));
            var unit = Path.Combine(dir, File.ReadAllText(Path.Combine(dir, CheckpointStore.LatestFile)).Trim());
            var runId = JsonDocument.Parse(File.ReadAllText(Path.Combine(unit, CheckpointStore.StateFile))).RootElement.GetProperty("RunId").GetString()!;
            var model = File.ReadAllBytes(Path.Combine(dir, CheckpointStore.CheckpointFile));
            Assert.Equal(File.ReadAllBytes(Path.Combine(unit, CheckpointStore.ModelFile)), model);
            return new Result(string.Join("\n", metrics), Blank(model, runId), Blank(File.ReadAllBytes(Path.Combine(unit, CheckpointStore.OptimizerFile)), runId));
        }

        // Header with the run id replaced, then a hash of the data bytes (compared exactly, printed short).
        private static string Blank(byte[] file, string runId)
        {
            int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
            var header = Encoding.UTF8.GetString(file, 8, n).Replace(runId, "<run>", StringComparison.Ordinal);
            // The recorded training command names the run's own --out (and --resume): it differs by design, and with it
            // the header's padding to 8 bytes.
            header = Regex.Replace(header, "\"command\":\"(?:[^\"\\\\]|\\\\.)*\"", "\"command\":\"<command>\"").TrimEnd();
            return header + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(file.AsSpan(8 + n)));
        }
    }

    /// <summary>The built CLI (Sifa.Cli/bin/CONFIG/TFM/sifa.dll beside this test assembly's configuration).</summary>
    private sealed class Cli(string dll)
    {
        public static Cli? Find()
        {
            var root = TestPaths.RepoRoot;
            if (root == null) return null;
            var tfm = new DirectoryInfo(AppContext.BaseDirectory);
            string config = tfm.Parent!.Name, framework = tfm.Name;
            var dll = Path.Combine(root, "Sifa.Cli", "bin", config, framework, "sifa.dll");
            return File.Exists(dll) ? new Cli(dll) : null;
        }

        public sealed record Run(int Code, string Stdout, string Stderr, bool Killed);

        public Run Train(string outDir, string extra = "", TimeSpan? killAfter = null, string? crashAt = null)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { dll, "train", "--train-size", "16", "--val-size", "8", "--epochs", Epochs.ToString(), "--size", "16", "--frames", "4",
                                      "--batch", "8", "--workers", "0", "--seed", "1", "--warmup-steps", "3", "--out", outDir })
                psi.ArgumentList.Add(a);
            foreach (var a in extra.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
            psi.Environment.Remove("SIFA_CRASH_AT");
            psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
            if (crashAt != null) psi.Environment["SIFA_CRASH_AT"] = crashAt;
            using var p = Process.Start(psi)!;
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            bool killed = false;
            if (killAfter is { } t && !p.WaitForExit(t))
            {
                p.Kill(entireProcessTree: true); // SIGKILL
                killed = true;
            }
            if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"sifa train {outDir} hung"); }
            p.WaitForExit();
            return new Run(p.ExitCode, so.Result, se.Result, killed);
        }
    }
}
