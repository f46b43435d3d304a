using Sifa.Autograd;
using Sifa.Data;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Tests.TrainingTests;

/// <summary>The official recipe's optimisation pieces: plain momentum, decay on all parameters, the warm-up and floor of
/// the schedule, gradient accumulation.</summary>
public class RecipeTrainingTests
{
    /// <summary>A video model with no batch norm (and no dropout): a linear classifier over the whole clip.</summary>
    private sealed class LinearVideoModel : VideoModel
    {
        private readonly Linear _fc;
        private readonly int _classes;

        public LinearVideoModel(int classes, int inputs, ulong seed)
        {
            _classes = classes;
            _fc = RegisterModule("fc", new Linear(new Generator(seed), inputs, classes));
        }

        public override int TemporalStride => 1;

        public override int NumClasses => _classes;

        protected override Variable Logits(Variable groups, int clips, int frames) =>
            _fc.Forward(Ops.Reshape(groups, clips, groups.Data.Numel / clips));
    }

    private static (SyntheticMotionDataset Train, SyntheticMotionDataset Val) Data(int train)
    {
        var o = new SyntheticMotionOptions { Frames = 4, Size = 16, TrainCount = train, ValidationCount = 8, Seed = 3 };
        return (new SyntheticMotionDataset(o, DatasetSplit.Train), new SyntheticMotionDataset(o, DatasetSplit.Validation));
    }

    private static string Tmp() => Directory.CreateTempSubdirectory("sifa-recipe-").FullName;

    private static TrainerOptions Sgd(string dir, int batch, int accumulate) => new()
    {
        Epochs = 2, BatchSize = batch, Accumulate = accumulate, Lr = 0.05, Optimizer = "sgd", Nesterov = false, WeightDecay = 1e-3,
        WeightDecayExcludeNormBias = false, WarmupEpochs = 0.5, WarmupStartFactor = 0.01, MinLr = 1e-6, ClipGradNorm = 0, Seed = 5,
        Workers = 0, OutDir = dir, Progress = false,
    };

    [Fact]
    public void AccumulatingNBatchesEqualsOneBatchNTimesLarger()
    {
        var (train, val) = Data(64);
        var a = new LinearVideoModel(8, 4 * 3 * 16 * 16, 1);
        var b = new LinearVideoModel(8, 4 * 3 * 16 * 16, 1);
        var ha = new Trainer(a, train, val, Sgd(Tmp(), 8, 4), TextWriter.Null).Run();
        var hb = new Trainer(b, train, val, Sgd(Tmp(), 32, 1), TextWriter.Null).Run();
        Assert.Equal(new long[] { 2, 4 }, ha.Select(m => m.Step)); // optimizer steps: 8 batches / 4 per epoch
        Assert.Equal(hb.Select(m => m.Step), ha.Select(m => m.Step));
        Assert.Equal(hb.Select(m => m.Lr), ha.Select(m => m.Lr));
        foreach (var (k, v) in b.StateDict())
        {
            var x = a.StateDict()[k].Tensor.ToArray();
            var y = v.Tensor.ToArray();
            double scale = y.Max(Math.Abs);
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 2e-6 * scale, $"{k}[{i}]: {x[i]} vs {y[i]}");
        }
        Assert.Equal(hb[^1].TrainLoss, ha[^1].TrainLoss, 5);
        Assert.Equal(hb[^1].ValLoss, ha[^1].ValLoss, 5);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AccumulationGivesTheCpuWeightsOnEveryDevice(string device)
    {
        var (train, val) = Data(32);
        var cpu = new LinearVideoModel(8, 4 * 3 * 16 * 16, 1);
        var dev = new LinearVideoModel(8, 4 * 3 * 16 * 16, 1);
        new Trainer(cpu, train, val, Sgd(Tmp(), 8, 2) with { Epochs = 1 }, TextWriter.Null).Run();
        new Trainer(dev, train, val, Sgd(Tmp(), 8, 2) with { Epochs = 1, Device = TestDevices.Of(device) }, TextWriter.Null).Run();
        foreach (var (k, v) in cpu.StateDict())
        {
            var x = dev.StateDict()[k].Tensor.ToArray();
            var y = v.Tensor.ToArray();
            double scale = y.Max(Math.Abs);
            for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-5 * scale, $"{device} {k}[{i}]: {x[i]} vs {y[i]}");
        }
    }

    private sealed class Poisoned(IVideoDataset inner, int index) : IVideoDataset
    {
        public int Count => inner.Count;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public int GetLabel(int i) => inner.GetLabel(i);
        public string GetSource(int i) => inner.GetSource(i);
        public VideoSample Load(int i, Random rng, CancellationToken ct = default)
        {
            var s = inner.Load(i, rng, ct);
            if (i == index) s.Data[0] = float.NaN;
            return s;
        }
    }

    [Fact]
    public void ANaNInAnyBatchOfAGroupSkipsTheWholeStep()
    {
        var (train, val) = Data(32);
        var m = new LinearVideoModel(8, 4 * 3 * 16 * 16, 1);
        var o = Sgd(Tmp(), 8, 2) with { Epochs = 1, OnNan = NanPolicy.SkipStep };
        var h = new Trainer(m, new Poisoned(train, 0), val, o, TextWriter.Null).Run();
        Assert.Equal((1, 1L), (h[0].SkippedSteps, h[0].Step));
        Assert.True(double.IsFinite(h[0].TrainLoss));
        Assert.All(m.Parameters(), p => Assert.All(p.Data.ToArray(), v => Assert.True(float.IsFinite(v))));
        Assert.Throws<NonFiniteException>(() => new Trainer(new LinearVideoModel(8, 4 * 3 * 16 * 16, 1), new Poisoned(train, 0), val,
            o with { OnNan = NanPolicy.Stop, OutDir = Tmp() }, TextWriter.Null).Run());
    }

    [Fact]
    public void AnEpochsLastPartialGroupStillSteps()
    {
        // 5 batches accumulated 2 at a time: steps after batches 2, 4 and 5.
        var (train, val) = Data(40);
        var h = new Trainer(new LinearVideoModel(8, 4 * 3 * 16 * 16, 1), train, val, Sgd(Tmp(), 8, 2) with { Epochs = 1 }, TextWriter.Null).Run();
        Assert.Equal(3, h[0].Step);
        Assert.True(double.IsFinite(h[0].TrainLoss));
    }

    [Fact]
    public void TheOfficialScheduleWarmsUpFromAHundredthAndDecaysToTheFloor()
    {
        const double lr = 0.04;
        Assert.Equal(lr / 100, CosineSchedule.LrAt(lr, 0, 10, 110, 0.01, 1e-6), 12);
        // GradualWarmupScheduler: base/m · ((m − 1)·s/w + 1)
        Assert.Equal(lr / 100 * (99.0 * 4 / 10 + 1), CosineSchedule.LrAt(lr, 4, 10, 110, 0.01, 1e-6), 12);
        Assert.Equal(lr, CosineSchedule.LrAt(lr, 10, 10, 110, 0.01, 1e-6), 12);
        Assert.Equal(1e-6 + (lr - 1e-6) * 0.5 * (1 + Math.Cos(Math.PI * 0.3)), CosineSchedule.LrAt(lr, 40, 10, 110, 0.01, 1e-6), 12);
        Assert.Equal(1e-6, CosineSchedule.LrAt(lr, 110, 10, 110, 0.01, 1e-6), 15);
        Assert.Equal(1e-6, CosineSchedule.LrAt(lr, 500, 10, 110, 0.01, 1e-6), 15);
        // without the options the plain formula's exact bits
        for (long s = 0; s < 120; s += 7) Assert.Equal(CosineSchedule.LrAt(lr, s, 10, 110), CosineSchedule.LrAt(lr, s, 10, 110, 0, 0));
        var opt = new SGD(new[] { new Variable(Tensor.Zeros(2), true) }, lr, momentum: 0.9);
        var sched = new CosineSchedule(opt, 10, 110, 0.01, 1e-6) { StepCount = 110 };
        Assert.Equal(1e-6, opt.Groups[0].Lr, 15);
        Assert.Throws<ArgumentException>(() => new CosineSchedule(opt, 10, 110, 1.0, 0));
        Assert.Throws<ArgumentException>(() => new CosineSchedule(opt, 10, 110, 0, -1));
        _ = sched;
    }

    [Fact]
    public void WarmupEpochsCountOptimizerSteps()
    {
        var (train, val) = Data(64);
        // 8 batches, accumulate 2: 4 steps an epoch; 1.5 warm-up epochs = 6 steps, lr after 2 epochs (8 steps) past the warm-up
        var o = Sgd(Tmp(), 8, 2) with { WarmupEpochs = 1.5, Epochs = 3 };
        var h = new Trainer(new LinearVideoModel(8, 4 * 3 * 16 * 16, 1), train, val, o, TextWriter.Null).Run();
        Assert.Equal(0.05 / 100 * (99.0 * 4 / 6 + 1), h[0].Lr, 12);
        Assert.Equal(CosineSchedule.LrAt(0.05, 8, 6, 12, 0.01, 1e-6), h[1].Lr, 12);
        Assert.Equal(1e-6, h[2].Lr, 15);
    }

    [Fact]
    public void SgdIsNesterovUnlessAskedAndDecayCoversAllParametersOnRequest()
    {
        var net = Presets.Create("sifa-tiny", 4, null, 16, new Generator(1));
        var d = TrainerOptions.Defaults with { Optimizer = "sgd" };
        var nesterov = (SGD)OptimizerFactory.Create(net, d);
        Assert.True(nesterov.Nesterov);
        Assert.Equal(new[] { "decay", "no_decay" }, nesterov.Groups.Select(g => g.Name));
        var plain = (SGD)OptimizerFactory.Create(net, d with { Nesterov = false, WeightDecayExcludeNormBias = false, WeightDecay = 1e-4 });
        Assert.False(plain.Nesterov);
        Assert.Single(plain.Groups);
        Assert.Equal(1e-4, plain.Groups[0].WeightDecay);
        Assert.Equal(net.Parameters().Count(p => p.RequiresGrad), plain.Parameters.Count);
        Assert.Equal(nesterov.Parameters.Count, plain.Parameters.Count);
    }

    [Fact]
    public void PlainMomentumFollowsPyTorch()
    {
        // torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01): buf = g + wd·p, then buf = μ·buf + (g + wd·p), p −= lr·buf
        var p = new Variable(Tensor.FromArray(new[] { 1f, -2f }, 2), true);
        var opt = new SGD(new[] { p }, 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: false);
        double[] w = { 1, -2 }, buf = { 0, 0 };
        var grads = new[] { new[] { 0.5, 0.25 }, new[] { -1.0, 2.0 }, new[] { 0.125, -0.5 } };
        for (int s = 0; s < 3; s++)
        {
            p.Grad = Tensor.FromArray(grads[s].Select(x => (float)x).ToArray(), 2);
            opt.Step();
            for (int i = 0; i < 2; i++)
            {
                double dd = grads[s][i] + 0.01 * w[i];
                buf[i] = s == 0 ? dd : 0.9 * buf[i] + dd;
                w[i] -= 0.1 * buf[i];
            }
            var got = p.Data.ToArray();
            for (int i = 0; i < 2; i++) Assert.Equal(w[i], got[i], 5);
        }
    }

    [Fact]
    public void TheNewSettingsAreChecked()
    {
        var d = TrainerOptions.Defaults;
        Assert.Contains("--accumulate", Assert.Throws<ArgumentException>(() => (d with { Accumulate = 0 }).Validate()).Message);
        Assert.Contains("--min-lr", Assert.Throws<ArgumentException>(() => (d with { MinLr = 1 }).Validate()).Message);
        Assert.Contains("--warmup-factor", Assert.Throws<ArgumentException>(() => (d with { WarmupStartFactor = 1 }).Validate()).Message);
        Assert.Contains("--warmup-epochs", Assert.Throws<ArgumentException>(() => (d with { WarmupEpochs = double.NaN }).Validate()).Message);
        Assert.Equal((true, true, 1, 0.0, 0.0, 0.0), (d.Nesterov, d.WeightDecayExcludeNormBias, d.Accumulate, d.WarmupEpochs, d.WarmupStartFactor, d.MinLr));
    }
}

public class RecipeCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Sifa.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void ARecipeSetsTheSettingsAndFlagsOverrideIt()
    {
        var dir = Directory.CreateTempSubdirectory("sifa-recipe-cli-").FullName;
        var (code, stdout, stderr) = Run("train", "--recipe", "sthv1", "--frames", "4", "--size", "16", "--epochs", "1", "--batch", "8", "--accumulate", "2",
            "--train-size", "16", "--val-size", "8", "--workers", "0", "--out", dir, "--overwrite", "--lr", "0.01");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("recipe sthv1", stdout);
        Assert.Contains("sgd lr 0.01 momentum 0.9 wd 0.0001 (all parameters), 1 epochs, batch 8 x 2, warm-up 5 epochs from x0.01, min lr 1E-06, clip 40, label smoothing 0", stdout);
        var bad = Run("train", "--recipe", "sthv3");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--recipe 'sthv3' is unknown", bad.Err);
        Assert.Contains("--sampling 'x'", Run("eval", "--checkpoint", "none.safetensors", "--sampling", "x").Err);
    }
}
