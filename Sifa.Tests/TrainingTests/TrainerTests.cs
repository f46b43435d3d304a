using Sifa.Data;
using Sifa.Models;
using Sifa.Nn.Optim;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Tests.TrainingTests;

public class TrainerTests
{
    private static (SyntheticMotionDataset Train, SyntheticMotionDataset Val) Data(int train, int val)
    {
        var o = new SyntheticMotionOptions { Frames = 4, Size = 16, TrainCount = train, ValidationCount = val, Seed = 3 };
        return (new SyntheticMotionDataset(o, DatasetSplit.Train), new SyntheticMotionDataset(o, DatasetSplit.Validation));
    }

    private static string Tmp() => Directory.CreateTempSubdirectory("sifa-train-").FullName;

    private static TrainerOptions Opts(string dir, int epochs, bool resume = false) => new()
    {
        Epochs = epochs, BatchSize = 8, Lr = 2e-3, WarmupSteps = 2, Seed = 5, Workers = 0, OutDir = dir, Resume = resume, Progress = false,
    };

    [Fact]
    public void ResumeReproducesUninterruptedRun()
    {
        var (train, val) = Data(16, 8);
        string a = Tmp(), b = Tmp();
        var m1 = Presets.Create("sifa-tiny", 8, null, 16, new Generator(1));
        var full = new Trainer(m1, train, val, Opts(a, 2), TextWriter.Null).Run();

        var m2 = Presets.Create("sifa-tiny", 8, null, 16, new Generator(1));
        new Trainer(m2, train, val, Opts(b, 2) with { StopAfterEpochs = 1 }, TextWriter.Null).Run();
        var m3 = Presets.Create("sifa-tiny", 8, null, 16, new Generator(99)); // weights come from the checkpoint
        var resumed = new Trainer(m3, train, val, Opts(b, 2, resume: true), TextWriter.Null).Run();

        Assert.Equal(2, resumed.Count);
        for (int i = 0; i < 2; i++) Assert.Equal(full[i] with { Seconds = 0 }, resumed[i] with { Seconds = 0 });
        var l1 = File.ReadAllLines(Path.Combine(a, CheckpointStore.MetricsFile));
        var l2 = File.ReadAllLines(Path.Combine(b, CheckpointStore.MetricsFile));
        Assert.Equal(2, l2.Length);
        static string Strip(string s) => System.Text.RegularExpressions.Regex.Replace(s, "\"seconds\":[^,}]*", "");
        Assert.Equal(l1.Select(Strip), l2.Select(Strip));
        var s1 = m1.StateDict(); var s3 = m3.StateDict();
        foreach (var (k, v) in s1) Assert.Equal(v.Tensor.ToArray(), s3[k].Tensor.ToArray());
    }

    [Fact]
    public void UnavailableDeviceFailsBeforeAnyWork()
    {
        if (Backends.TryGet(Device.Cuda, out _)) return; // a machine with a GPU backend: nothing to refuse
        var (train, val) = Data(16, 8);
        string dir = Tmp();
        var m = Presets.Create("sifa-tiny", 8, null, 16, new Generator(1));
        var e = Assert.Throws<NotSupportedException>(() => new Trainer(m, train, val, Opts(dir, 1) with { Device = Device.Cuda }, TextWriter.Null));
        Assert.Contains("cuda", e.Message);
        Assert.Empty(Directory.GetFiles(dir));
        new TrainerOptions { Device = Device.Parse("cpu") }.Validate();
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var d = TrainerOptions.Defaults;
        Assert.Equal((8, 1e-3, "adamw", Device.Cpu), (d.Epochs, d.Lr, d.Optimizer, d.Device));
    }

    [Fact]
    public void TopKAndClipping()
    {
        var scores = new float[] { 0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f };
        Assert.Equal(1, Metrics.CountTopK(scores, 3, new[] { 1, 1 }, 1));
        Assert.Equal(2, Metrics.CountTopK(scores, 3, new[] { 1, 1 }, 2));
        var p = new Sifa.Autograd.Variable(Tensor.Zeros(2), true) { Grad = Tensor.FromArray(new[] { 3f, 4f }, 2) };
        Assert.Equal(5, GradClip.ClipGradNorm(new[] { p }, 1), 5);
        Assert.Equal(new[] { 0.6f, 0.8f }, p.Grad!.ToArray().Select(v => MathF.Round(v, 4)));
    }

    [Fact]
    public void CurvesAreSvg()
    {
        var svg = CurvePlot.Svg(new[] { new EpochMetrics { Epoch = 1, TrainLoss = 2, ValLoss = 1.5, TrainTop1 = 0.2, ValTop1 = 0.3, ValTop5 = 0.8 },
                                        new EpochMetrics { Epoch = 2, TrainLoss = 1, ValLoss = 1.1, TrainTop1 = 0.5, ValTop1 = 0.6, ValTop5 = 0.9 } });
        Assert.StartsWith("<svg", svg);
        Assert.Contains("polyline", svg);
        System.Xml.Linq.XDocument.Parse(svg);
    }

    [Fact]
    [Trait("Category", "Training")]
    public void OneEpochLearnsAndWritesArtifacts()
    {
        var (train, val) = Data(64, 16);
        string dir = Tmp();
        var m = Presets.Create("sifa-tiny", 8, null, 16, new Generator(2));
        var before = Evaluator.Evaluate(m, train, 16, 0);
        var hist = new Trainer(m, train, val, Opts(dir, 1) with { Lr = 3e-3 }, TextWriter.Null).Run();
        var after = Evaluator.Evaluate(m, train, 16, 0);
        Assert.True(after.Loss < before.Loss, $"loss {before.Loss} -> {after.Loss}");
        Assert.Single(hist);
        foreach (var f in new[] { CheckpointStore.MetricsFile, CheckpointStore.CurvesFile, CheckpointStore.CheckpointFile, CheckpointStore.OptimizerFile, CheckpointStore.StateFile })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        var line = File.ReadAllLines(Path.Combine(dir, CheckpointStore.MetricsFile)).Single();
        foreach (var k in new[] { "epoch", "train_loss", "train_top1", "val_loss", "val_top1", "val_top5", "lr", "seconds" }) Assert.Contains($"\"{k}\"", line);
    }
}
