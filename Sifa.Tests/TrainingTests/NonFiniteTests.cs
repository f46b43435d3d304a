using Sifa.Data;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Tests.TrainingTests;

/// <summary>NaN and infinity are never silent: not scored as correct, not trained on, not written as metrics.</summary>
public class NonFiniteTests
{
    private static SyntheticMotionOptions Synth(int train, int val) => new() { Frames = 4, Size = 16, TrainCount = train, ValidationCount = val, Seed = 3 };

    private static string Tmp() => Directory.CreateTempSubdirectory("sifa-nan-").FullName;

    private static TrainerOptions Opts(string dir, int epochs) => new()
    {
        Epochs = epochs, BatchSize = 8, Lr = 2e-3, WarmupSteps = 2, Seed = 5, Workers = 0, OutDir = dir, Progress = false,
    };

    private static VideoModel Tiny() => Presets.Create("sifa-tiny", 8, null, 16, new Generator(1));

    private static void PoisonConv1(VideoModel m) =>
        m.StateDict()["conv1.weight"].Tensor.Fill_(float.NaN);

    /// <summary>A dataset whose chosen samples carry a NaN pixel (a transient NaN loss at their step).</summary>
    private sealed class PoisonedDataset(IVideoDataset inner, params int[] poisoned) : IVideoDataset
    {
        public int Count => inner.Count;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public int GetLabel(int index) => inner.GetLabel(index);
        public string GetSource(int index) => inner.GetSource(index);
        public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default)
        {
            var s = inner.Load(index, rng, cancellationToken);
            if (poisoned.Contains(index)) s.Data[0] = float.NaN;
            return s;
        }
    }

    [Fact]
    public void TopKCountsARowWithANaNAsWrong()
    {
        Assert.Equal(0, Metrics.CountTopK(new[] { float.NaN, float.NaN, float.NaN }, 3, new[] { 1 }, 1));
        Assert.Equal(0, Metrics.CountTopK(new[] { 0.1f, float.NaN, 0.2f }, 3, new[] { 1 }, 5));
        Assert.Equal(0, Metrics.CountTopK(new[] { float.NaN, 0.9f, 0.2f }, 3, new[] { 1 }, 1));
        Assert.Equal(1, Metrics.CountTopK(new[] { 0.1f, float.PositiveInfinity, 0.2f }, 3, new[] { 1 }, 1));
    }

    [Fact]
    public void EvaluationOfNaNWeightsScoresZeroAndIsRefusedByName()
    {
        var m = Tiny();
        PoisonConv1(m);
        var r = Evaluator.Evaluate(m, new SyntheticMotionDataset(Synth(8, 8), DatasetSplit.Validation), 4, 0);
        Assert.Equal((0.0, 0.0), (r.Top1, r.Top5));
        Assert.True(double.IsNaN(r.Loss));
        var e = Assert.Throws<NonFiniteException>(() => Evaluator.EnsureFiniteWeights(m, "ckpt.safetensors"));
        Assert.Contains("ckpt.safetensors", e.Message);
        Assert.Contains("'conv1.weight'", e.Message);
        Evaluator.EnsureFiniteWeights(Tiny(), "fine.safetensors");
    }

    [Fact]
    public void NaNWeightsStopTrainingAtTheFirstStepNamingTheParameter()
    {
        string dir = Tmp();
        var m = Tiny();
        PoisonConv1(m);
        var e = Assert.Throws<NonFiniteException>(() => new Trainer(m, new SyntheticMotionDataset(Synth(16, 8)),
            new SyntheticMotionDataset(Synth(16, 8), DatasetSplit.Validation), Opts(dir, 1), TextWriter.Null).Run());
        Assert.StartsWith("epoch 1 step 1: ", e.Message);
        Assert.Contains("first parameter whose gradient is not finite: conv1.weight", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Path.Combine(dir, CheckpointStore.CheckpointFile)));
    }

    [Fact]
    public void DivergenceKeepsTheLastGoodCheckpointAndTheMetricsSoFar()
    {
        var synth = Synth(16, 8);
        var val = new SyntheticMotionDataset(synth, DatasetSplit.Validation);
        string dir = Tmp();
        new Trainer(Tiny(), new SyntheticMotionDataset(synth), val, Opts(dir, 2) with { StopAfterEpochs = 1 }, TextWriter.Null).Run();
        var ckpt = Path.Combine(dir, CheckpointStore.CheckpointFile);
        var before = File.ReadAllBytes(ckpt);
        var metrics = File.ReadAllText(Path.Combine(dir, CheckpointStore.MetricsFile));

        var all = Enumerable.Range(0, 16).ToArray();
        var e = Assert.Throws<NonFiniteException>(() => new Trainer(Tiny(), new PoisonedDataset(new SyntheticMotionDataset(synth), all), val,
            Opts(dir, 2) with { Resume = ResumeMode.Required }, TextWriter.Null).Run());
        Assert.StartsWith("epoch 2 step 1: ", e.Message);
        Assert.Equal(before, File.ReadAllBytes(ckpt));
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(dir, CheckpointStore.MetricsFile)));
    }

    [Fact]
    public void SkipStepPolicySkipsOnlyTheBadStepAndCountsIt()
    {
        var synth = Synth(16, 8);
        var log = new StringWriter();
        string dir = Tmp();
        var h = new Trainer(Tiny(), new PoisonedDataset(new SyntheticMotionDataset(synth), 3), new SyntheticMotionDataset(synth, DatasetSplit.Validation),
            Opts(dir, 1) with { OnNan = NanPolicy.SkipStep }, log).Run();
        Assert.Equal(1, h[0].SkippedSteps);
        Assert.Equal(1, h[0].Step);                           // two batches, one skipped
        Assert.True(double.IsFinite(h[0].TrainLoss));
        Assert.Contains("step skipped", log.ToString());
        Assert.Contains("\"skipped_steps\":1", File.ReadAllText(Path.Combine(dir, CheckpointStore.MetricsFile)));

        // the same data under the default policy stops
        Assert.Throws<NonFiniteException>(() => new Trainer(Tiny(), new PoisonedDataset(new SyntheticMotionDataset(synth), 3), null, Opts(Tmp(), 1), TextWriter.Null).Run());
        // every step skipped is an epoch with no step: that stops too
        var every = Assert.Throws<NonFiniteException>(() => new Trainer(Tiny(), new PoisonedDataset(new SyntheticMotionDataset(synth), Enumerable.Range(0, 16).ToArray()),
            null, Opts(Tmp(), 1) with { OnNan = NanPolicy.SkipStep }, TextWriter.Null).Run());
        Assert.Contains("all 2 steps", every.Message);
    }

    [Fact]
    public void HugeLearningRateStopsInsteadOfTrainingOnNaN()
    {
        var synth = Synth(64, 8);
        var e = Assert.Throws<NonFiniteException>(() => new Trainer(Tiny(), new SyntheticMotionDataset(synth), null,
            Opts(Tmp(), 3) with { Lr = 1e6, ClipGradNorm = 0, WarmupSteps = 0 }, TextWriter.Null).Run());
        Assert.Matches("^epoch [1-3] step [0-9]+: ", e.Message);
    }

    [Fact]
    public void NonNumbersInMetricsAreWrittenNotFatal()
    {
        string dir = Tmp();
        var h = new Trainer(Tiny(), new SyntheticMotionDataset(Synth(16, 8)), null, Opts(dir, 1), TextWriter.Null).Run();
        Assert.True(double.IsNaN(h[0].ValLoss));                   // no validation data
        Assert.Contains("\"val_loss\":\"NaN\"", File.ReadAllText(Path.Combine(dir, CheckpointStore.MetricsFile)));
    }

    [Fact]
    public void OptionsRefuseNonFiniteSettings()
    {
        foreach (var o in new[]
                 {
                     TrainerOptions.Defaults with { Lr = double.PositiveInfinity }, TrainerOptions.Defaults with { Lr = double.NaN },
                     TrainerOptions.Defaults with { ClipGradNorm = double.NaN }, TrainerOptions.Defaults with { ClipGradNorm = -1 },
                     TrainerOptions.Defaults with { LabelSmoothing = float.NaN }, TrainerOptions.Defaults with { WeightDecay = double.NaN },
                 })
            Assert.Throws<ArgumentException>(o.Validate);
    }
}
