using System.Text.Json;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Tests.TrainingTests;

/// <summary>The checkpoint unit: layout, commit, the checks on resume, cleanup and write failures (in process; the
/// kill tests in <see cref="CheckpointKillTests"/> run the CLI).</summary>
public sealed class CheckpointStoreTests : IDisposable
{
    private readonly List<string> _dirs = new();

    private string Tmp()
    {
        var d = Directory.CreateTempSubdirectory("sifa-ckpt-").FullName;
        _dirs.Add(d);
        return d;
    }

    public void Dispose()
    {
        foreach (var d in _dirs) Directory.Delete(d, recursive: true);
    }

    private static (Linear Model, AdamW Opt) Net(int seed = 1)
    {
        var m = new Linear(new Generator((ulong)seed), 4, 3);
        return (m, new AdamW(m.Parameters(), lr: 0.01));
    }

    private static List<EpochMetrics> History(int epochs) =>
        Enumerable.Range(1, epochs).Select(e => new EpochMetrics { Epoch = e, Step = 10L * e, TrainLoss = 1.0 / e }).ToList();

    // Saves epochs 1..n as a run would (the model changes between saves so the parts differ).
    private static CheckpointStore Run(string dir, int epochs, Linear m, AdamW opt)
    {
        var s = new CheckpointStore(dir);
        Assert.Null(s.Begin(ResumeMode.Never, false, m, opt));
        for (int e = 1; e <= epochs; e++)
        {
            m.Weight.Data.Fill_(e);
            s.Save(m, opt, e, 10L * e, 7, History(e));
        }
        return s;
    }

    private static string[] Listing(string dir) =>
        Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void OneCommittedUnitAndTheModelFileForEval()
    {
        string dir = Tmp();
        var (m, opt) = Net();
        Run(dir, 2, m, opt);
        Assert.Equal(new[] { CheckpointStore.CheckpointFile, "ckpt-epoch-0002", CheckpointStore.LatestFile }, Listing(dir));
        Assert.Equal("ckpt-epoch-0002", File.ReadAllText(Path.Combine(dir, CheckpointStore.LatestFile)).Trim());
        Assert.Equal(new[] { CheckpointStore.ModelFile, CheckpointStore.OptimizerFile, CheckpointStore.StateFile }, Listing(Path.Combine(dir, "ckpt-epoch-0002")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "ckpt-epoch-0002", CheckpointStore.ModelFile)), File.ReadAllBytes(Path.Combine(dir, CheckpointStore.CheckpointFile)));

        var (m2, _) = Net(9);
        var r = m2.Load(Path.Combine(dir, CheckpointStore.CheckpointFile)); // what eval/predict do
        Assert.Equal(("2", "20"), (r.Metadata["epoch"], r.Metadata["step"]));
        Assert.All(m2.Weight.Data.ToArray(), v => Assert.Equal(2f, v));
    }

    [Fact]
    public void ResumeRestoresModelOptimizerAndRunId()
    {
        string dir = Tmp();
        var (m, opt) = Net();
        var s = Run(dir, 2, m, opt);
        var (m2, opt2) = Net(9);
        var s2 = new CheckpointStore(dir);
        var at = s2.Begin(ResumeMode.Required, false, m2, opt2)!;
        Assert.Equal((2, 20L, 2), (at.Epoch, at.ScheduleStep, at.History.Count));
        Assert.Equal(s.RunId, s2.RunId);
        Assert.EndsWith("ckpt-epoch-0002", at.Source);
        Assert.Equal(m.Weight.Data.ToArray(), m2.Weight.Data.ToArray());
        Assert.NotNull(new CheckpointStore(dir).Begin(ResumeMode.Auto, false, m2, opt2));
    }

    [Fact]
    public void MixedSetIsRefusedNamingFileAndEpochs()
    {
        string dir = Tmp(), aside = Tmp();
        var (m, opt) = Net();
        var s = Run(dir, 1, m, opt);
        File.Copy(Path.Combine(dir, "ckpt-epoch-0001", CheckpointStore.OptimizerFile), Path.Combine(aside, "opt1"));
        m.Weight.Data.Fill_(2);
        s.Save(m, opt, 2, 20, 7, History(2));
        File.Copy(Path.Combine(aside, "opt1"), Path.Combine(dir, "ckpt-epoch-0002", CheckpointStore.OptimizerFile), overwrite: true);

        var (m2, opt2) = Net(9);
        var before = m2.Weight.Data.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointStore(dir).Begin(ResumeMode.Required, false, m2, opt2));
        Assert.Contains("optimizer.safetensors records epoch 1, expected 2", e.Message);
        Assert.Contains("ckpt-epoch-0002", e.Message);
        Assert.Equal(before, m2.Weight.Data.ToArray()); // nothing loaded
    }

    [Fact]
    public void PartOfAnotherRunIsRefused()
    {
        string a = Tmp(), b = Tmp();
        var (m, opt) = Net();
        Run(a, 1, m, opt);
        Run(b, 1, m, opt); // same epoch and step, another run id
        File.Copy(Path.Combine(b, "ckpt-epoch-0001", CheckpointStore.ModelFile), Path.Combine(a, "ckpt-epoch-0001", CheckpointStore.ModelFile), overwrite: true);
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointStore(a).Begin(ResumeMode.Required, false, m, opt));
        Assert.Contains("model.safetensors records run_id", e.Message);
    }

    [Theory]
    [InlineData("delete-optimizer", "optimizer.safetensors is missing")]
    [InlineData("delete-state", "trainer_state.json is missing")]
    [InlineData("state-epoch", "trainer_state.json records epoch 5, expected 1")]
    [InlineData("latest-missing-dir", "latest names ckpt-epoch-0007, which is missing")]
    [InlineData("latest-garbage", "does not name a checkpoint directory")]
    [InlineData("truncated-model", "refusing to resume")]
    public void DamagedCheckpointIsRefused(string damage, string message)
    {
        string dir = Tmp(), unit = Path.Combine(dir, "ckpt-epoch-0001");
        var (m, opt) = Net();
        Run(dir, 1, m, opt);
        switch (damage)
        {
            case "delete-optimizer": File.Delete(Path.Combine(unit, CheckpointStore.OptimizerFile)); break;
            case "delete-state": File.Delete(Path.Combine(unit, CheckpointStore.StateFile)); break;
            case "state-epoch":
                var p = Path.Combine(unit, CheckpointStore.StateFile);
                File.WriteAllText(p, File.ReadAllText(p).Replace("\"Epoch\": 1", "\"Epoch\": 5"));
                break;
            case "latest-missing-dir": File.WriteAllText(Path.Combine(dir, CheckpointStore.LatestFile), "ckpt-epoch-0007\n"); break;
            case "latest-garbage": File.WriteAllText(Path.Combine(dir, CheckpointStore.LatestFile), "../../etc\n"); break;
            case "truncated-model":
                var mp = Path.Combine(unit, CheckpointStore.ModelFile);
                File.WriteAllBytes(mp, File.ReadAllBytes(mp)[..100]);
                break;
        }
        foreach (var mode in new[] { ResumeMode.Required, ResumeMode.Auto })
        {
            var e = Assert.Throws<InvalidDataException>(() => new CheckpointStore(dir).Begin(mode, false, m, opt));
            Assert.Contains(message, e.Message);
        }
        // A new run does not silently replace it either; --overwrite does.
        Assert.Throws<ArgumentException>(() => new CheckpointStore(dir).Begin(ResumeMode.Never, false, m, opt));
        Assert.Null(new CheckpointStore(dir).Begin(ResumeMode.Never, true, m, opt));
        Assert.Empty(Listing(dir));
    }

    [Fact]
    public void NothingToResumeAndNoSilentOverwrite()
    {
        string dir = Tmp();
        var (m, opt) = Net();
        var e = Assert.Throws<ArgumentException>(() => new CheckpointStore(dir).Begin(ResumeMode.Required, false, m, opt));
        Assert.Contains("nothing to resume", e.Message);
        Assert.Null(new CheckpointStore(dir).Begin(ResumeMode.Auto, false, m, opt));

        Run(dir, 1, m, opt);
        var e2 = Assert.Throws<ArgumentException>(() => new CheckpointStore(dir).Begin(ResumeMode.Never, false, m, opt));
        Assert.Contains("already holds a run (checkpoint ckpt-epoch-0001)", e2.Message);
        Assert.True(File.Exists(Path.Combine(dir, CheckpointStore.LatestFile)));
        var log = new StringWriter();
        Assert.Null(new CheckpointStore(dir, log).Begin(ResumeMode.Never, true, m, opt));
        Assert.Contains("overwriting", log.ToString());
        Assert.Empty(Listing(dir));
    }

    [Fact]
    public void StaleTemporariesOfOursAreCleanedOthersKept()
    {
        string dir = Tmp();
        var (m, opt) = Net();
        Run(dir, 1, m, opt);
        string[] ours = [".ckpt-epoch-0002.tmp-4242/", ".ckpt-epoch-0001.old-17/", "ckpt-epoch-0002/", ".latest.tmp", ".checkpoint.safetensors.tmp",
                         ".model.safetensors.123.0123456789abcdef0123456789abcdef.tmp", "checkpoint.safetensors.tmp", ".metrics.jsonl.tmp"];
        string[] theirs = ["notes.txt", "ckpt-best/", "ckpt-epoch-0002.tmp", ".ckpt-epoch-x.tmp-1/", "latest.txt"];
        foreach (var n in ours.Concat(theirs))
        {
            if (n.EndsWith('/')) { Directory.CreateDirectory(Path.Combine(dir, n)); File.WriteAllText(Path.Combine(dir, n, "big.bin"), "x"); }
            else File.WriteAllText(Path.Combine(dir, n), "x");
        }
        var log = new StringWriter();
        Assert.NotNull(new CheckpointStore(dir, log).Begin(ResumeMode.Required, false, m, opt));
        var left = Listing(dir);
        foreach (var n in ours) Assert.DoesNotContain(n.TrimEnd('/'), left);
        foreach (var n in theirs) Assert.Contains(n.TrimEnd('/'), left);
        Assert.Contains("removed leftovers", log.ToString());
        Assert.Contains("ckpt-epoch-0001", left);
    }

    public static TheoryData<string> FailingPoints => new(CheckpointStore.SavePoints.TakeWhile(p => p != "latest-renamed"));

    [Theory]
    [MemberData(nameof(FailingPoints))]
    public void DiskFullKeepsThePreviousCheckpoint(string point)
    {
        string dir = Tmp();
        var (m, opt) = Net();
        var s = Run(dir, 1, m, opt);
        var before = Listing(dir);
        s.Fault = (p, e) => { if (p == point) throw new IOException("No space left on device : 'x'", 28); };
        m.Weight.Data.Fill_(2);
        var ex = Assert.Throws<OutputWriteException>(() => s.Save(m, opt, 2, 20, 7, History(2)));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains("cannot save the epoch 2 checkpoint", ex.Message);
        Assert.Contains("no space left on device", ex.Message);
        Assert.Contains("ckpt-epoch-0001 (epoch 1) is intact", ex.Message);
        Assert.Equal(before, Listing(dir)); // no temporaries left behind, nothing half-committed
        var (m2, opt2) = Net(9);
        Assert.Equal(1, new CheckpointStore(dir).Begin(ResumeMode.Required, false, m2, opt2)!.Epoch);
        Assert.All(m2.Weight.Data.ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void FailureAfterTheCommitSaysTheNewCheckpointIsSaved()
    {
        string dir = Tmp();
        var (m, opt) = Net();
        var s = Run(dir, 1, m, opt);
        s.Fault = (p, e) => { if (p == "link-made") throw new IOException("No space left on device", 28); };
        var ex = Assert.Throws<OutputWriteException>(() => s.Save(m, opt, 2, 20, 7, History(2)));
        Assert.Contains("the epoch 2 checkpoint is saved in", ex.Message);
        Assert.Equal(2, new CheckpointStore(dir).Begin(ResumeMode.Required, false, m, opt)!.Epoch);
        Assert.DoesNotContain(".checkpoint.safetensors.tmp", Listing(dir));
    }

    [Fact]
    public void OldLayoutResumesAndIsReplaced()
    {
        string dir = Tmp();
        var (m, opt) = Net();
        m.Weight.Data.Fill_(3);
        // What the first layout wrote: three files side by side, the epoch in each.
        m.Save(Path.Combine(dir, CheckpointStore.CheckpointFile), new Dictionary<string, string> { ["epoch"] = "3" });
        var os = opt.StateDict();
        os.Values["epoch"] = "3";
        os.Save(Path.Combine(dir, CheckpointStore.OptimizerFile));
        File.WriteAllText(Path.Combine(dir, CheckpointStore.StateFile), JsonSerializer.Serialize(new { Epoch = 3, ScheduleStep = 30L, Seed = 7, History = History(3) }));

        var (m2, opt2) = Net(9);
        var s = new CheckpointStore(dir);
        var at = s.Begin(ResumeMode.Required, false, m2, opt2)!;
        Assert.Equal((3, 30L), (at.Epoch, at.ScheduleStep));
        Assert.All(m2.Weight.Data.ToArray(), v => Assert.Equal(3f, v));
        s.Save(m2, opt2, 4, 40, 7, History(4));
        Assert.Equal(new[] { CheckpointStore.CheckpointFile, "ckpt-epoch-0004", CheckpointStore.LatestFile }, Listing(dir));

        // A mixed old-layout set is refused too.
        string d2 = Tmp();
        m.Save(Path.Combine(d2, CheckpointStore.CheckpointFile), new Dictionary<string, string> { ["epoch"] = "2" });
        os.Save(Path.Combine(d2, CheckpointStore.OptimizerFile));
        File.WriteAllText(Path.Combine(d2, CheckpointStore.StateFile), JsonSerializer.Serialize(new { Epoch = 3, ScheduleStep = 30L, Seed = 7, History = History(3) }));
        var e = Assert.Throws<InvalidDataException>(() => new CheckpointStore(d2).Begin(ResumeMode.Required, false, m2, opt2));
        Assert.Contains("checkpoint.safetensors records epoch 2, expected 3", e.Message);
    }
}
