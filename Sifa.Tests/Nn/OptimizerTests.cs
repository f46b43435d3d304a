using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Tests.Nn;

public class OptimizerTests
{
    // ---------------------------------------------------------------- references, straight from SPEC section 2 (in double)

    private static double[] RefSgd(double[] p, double[][] grads, double lr, double mu, double damp, double wd, bool nesterov)
    {
        p = (double[])p.Clone();
        double[]? buf = null;
        foreach (var g0 in grads)
        {
            var g = g0.Select((g, i) => g + wd * p[i]).ToArray();
            if (mu != 0)
            {
                buf = buf == null ? (double[])g.Clone() : buf.Select((b, i) => mu * b + (1 - damp) * g[i]).ToArray();
                g = nesterov ? g.Select((x, i) => x + mu * buf[i]).ToArray() : buf;
            }
            for (int i = 0; i < p.Length; i++) p[i] -= lr * g[i];
        }
        return p;
    }

    private static double[] RefAdamW(double[] p, double[][] grads, double lr, double b1, double b2, double eps, double wd)
    {
        p = (double[])p.Clone();
        var m = new double[p.Length];
        var v = new double[p.Length];
        int t = 0;
        foreach (var g in grads)
        {
            t++;
            for (int i = 0; i < p.Length; i++)
            {
                p[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                p[i] -= lr * (m[i] / (1 - Math.Pow(b1, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(b2, t))) + eps);
            }
        }
        return p;
    }

    private static (Variable[] Params, float[][][] Grads) Problem(ulong seed, int steps)
    {
        var g = new Generator(seed);
        var ps = new[]
        {
            new Variable(Tensor.RandN(g, new[] { 3, 2 }), true, "a"),
            new Variable(Tensor.RandN(g, new[] { 4 }), true, "b"),
        };
        var grads = Enumerable.Range(0, steps).Select(_ => ps.Select(p => Tensor.RandN(g, p.Shape).ToArray()).ToArray()).ToArray();
        return (ps, grads);
    }

    private static void Run(Optimizer opt, Variable[] ps, float[][][] grads)
    {
        foreach (var step in grads)
        {
            opt.ZeroGrad();
            for (int i = 0; i < ps.Length; i++) ps[i].Grad = Tensor.FromArray((float[])step[i].Clone(), ps[i].Shape);
            opt.Step();
        }
    }

    private static double[] D(float[] a) => a.Select(x => (double)x).ToArray();

    // ---------------------------------------------------------------- SGD

    [Theory]
    [InlineData(0.0, 0.0, 0.0, false)]
    [InlineData(0.9, 0.0, 0.0, false)]
    [InlineData(0.9, 0.0, 0.0, true)]
    [InlineData(0.0, 0.0, 1e-2, false)]
    [InlineData(0.9, 0.0, 5e-2, true)]
    [InlineData(0.9, 0.3, 1e-3, false)]
    public void SgdMatchesPyTorchFormulasOverThreeSteps(double mu, double damp, double wd, bool nesterov)
    {
        var (ps, grads) = Problem(11, 3);
        var p0 = ps.Select(p => D(p.Data.ToArray())).ToArray();
        var opt = new SGD(ps, lr: 0.1, momentum: mu, dampening: damp, weightDecay: wd, nesterov: nesterov);
        Run(opt, ps, grads);
        for (int k = 0; k < ps.Length; k++)
        {
            var expect = RefSgd(p0[k], grads.Select(s => D(s[k])).ToArray(), 0.1, mu, damp, wd, nesterov);
            NnAssert.Close(expect.Select(x => (float)x).ToArray(), ps[k].Data.ToArray(), 1e-6, 1e-5, $"param {k}");
        }
        Assert.Equal(3, opt.StepCount);
    }

    [Theory]
    [InlineData(0.0, false, 0.0, 0.4)]                  // 1 - .1 - .2 - .3
    [InlineData(0.9, false, 0.0, 0.049)]                // buf 1, 2.9, 5.61
    [InlineData(0.9, true, 0.0, -0.4559)]               // g 1.9, 4.61, 8.049
    [InlineData(0.0, false, 0.1, 0.374289)]             // g 1.1, 2.089, 3.06811
    public void SgdHandComputedValues(double mu, bool nesterov, double wd, double expected)
    {
        var p = new Variable(Tensor.FromArray(new[] { 1f }, 1), true);
        var opt = new SGD(new[] { p }, lr: 0.1, momentum: mu, weightDecay: wd, nesterov: nesterov);
        Run(opt, new[] { p }, new[] { new[] { new[] { 1f } }, new[] { new[] { 2f } }, new[] { new[] { 3f } } });
        NnAssert.Close(expected, p.Data.Item(), 1e-6, 1e-6);
    }

    [Fact]
    public void NesterovNeedsMomentum() => Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<Variable>(), 0.1, nesterov: true));

    // ---------------------------------------------------------------- AdamW

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void AdamWMatchesPyTorchFormulasOverThreeSteps(double wd)
    {
        var (ps, grads) = Problem(12, 3);
        var p0 = ps.Select(p => D(p.Data.ToArray())).ToArray();
        var opt = new AdamW(ps, lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: wd);
        Run(opt, ps, grads);
        for (int k = 0; k < ps.Length; k++)
        {
            var expect = RefAdamW(p0[k], grads.Select(s => D(s[k])).ToArray(), 0.01, 0.9, 0.99, 1e-8, wd);
            NnAssert.Close(expect.Select(x => (float)x).ToArray(), ps[k].Data.ToArray(), 1e-6, 1e-5, $"param {k}");
            Assert.Equal(3, opt.ParamStep(k));
        }
    }

    [Fact]
    public void AdamWHandComputedValues()
    {
        // lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.01, p = 1, grads 1, 2, 3 (PyTorch gives the same values).
        var expected = new[] { 0.899000001, 0.8015827990271663, 0.7049810942616538 };
        var p = new Variable(Tensor.FromArray(new[] { 1f }, 1), true);
        var opt = new AdamW(new[] { p }, lr: 0.1, weightDecay: 0.01);
        for (int s = 0; s < 3; s++)
        {
            p.Grad = Tensor.FromArray(new[] { s + 1f }, 1);
            opt.Step();
            NnAssert.Close(expected[s], p.Data.Item(), 1e-6, 1e-6, $"step {s + 1}");
        }
    }

    [Fact]
    public void ParametersWithoutGradAreSkipped()
    {
        var (ps, _) = Problem(13, 0);
        var before = ps[1].Data.ToArray();
        var opt = new AdamW(ps, lr: 0.1, weightDecay: 0.5);
        ps[0].Grad = Tensor.Ones(3, 2);
        opt.Step();
        Assert.Equal(before, ps[1].Data.ToArray()); // no grad: not even weight decay
        Assert.Equal(1, opt.ParamStep(0));
        Assert.Equal(0, opt.ParamStep(1));
        Assert.Null(opt.ExpAvg(1));

        var sgd = new SGD(ps, lr: 0.1, momentum: 0.9, weightDecay: 0.5);
        ps[0].Grad = Tensor.Ones(3, 2);
        ps[1].Grad = null;
        sgd.Step();
        Assert.Equal(before, ps[1].Data.ToArray());
        Assert.Null(sgd.MomentumBuffer(1));
        Assert.NotNull(sgd.MomentumBuffer(0));
    }

    // ---------------------------------------------------------------- parameter groups

    [Fact]
    public void SplitDecayExcludesNormsBiasesAndRelativePositionTables()
    {
        var m = new ToyModel(1);
        var groups = ParamGroup.SplitDecay(m, 0.05);
        Assert.Equal(new[] { "decay", "no_decay" }, groups.Select(g => g.Name));
        var decay = groups[0].Parameters.Select(p => p.Name).ToArray();
        var noDecay = groups[1].Parameters.Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "stem.weight", "layer1.0.conv1.weight", "layer1.0.downsample.0.weight", "layer1.1.conv1.weight", "layer1.1.downsample.0.weight", "fc.weight" }, decay);
        Assert.Equal(new[]
        {
            "relative_position_bias_table", "stem.bias",
            "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.downsample.1.weight", "layer1.0.downsample.1.bias",
            "layer1.1.bn1.weight", "layer1.1.bn1.bias", "layer1.1.downsample.1.weight", "layer1.1.downsample.1.bias",
            "norm.weight", "norm.bias", "fc.bias",
        }, noDecay);
        Assert.Equal(0.05, groups[0].WeightDecay);
        Assert.Equal(0.0, groups[1].WeightDecay);

        m.Fc.Weight.RequiresGrad = false; // frozen parameters are left out
        Assert.DoesNotContain("fc.weight", ParamGroup.SplitDecay(m, 0.05)[0].Parameters.Select(p => p.Name));
        Assert.DoesNotContain("stem.weight", ParamGroup.SplitDecay(m, 0.05, "weight")[0].Parameters.Select(p => p.Name));
    }

    [Fact]
    public void NoDecayGroupIsNotDecayed()
    {
        var m = new ToyModel(1);
        var before = NnAssert.Snapshot(m);
        var opt = new AdamW(ParamGroup.SplitDecay(m, 0.05), lr: 0.1);
        foreach (var p in m.Parameters()) p.Grad = Tensor.Zeros(p.Shape); // zero grads: only weight decay moves values
        opt.Step();
        var decayed = opt.Groups[0].Parameters.Select(p => p.Name!).ToHashSet();
        foreach (var (k, p) in m.NamedParameters())
        {
            var expect = before[k].Select(v => decayed.Contains(k) ? v * (float)(1 - 0.1 * 0.05) : v).ToArray();
            NnAssert.Close(expect, p.Data.ToArray(), 1e-7, 1e-6, k);
        }
        Assert.Contains("fc.weight", decayed);
        Assert.DoesNotContain("relative_position_bias_table", decayed);
    }

    [Fact]
    public void GroupsHaveTheirOwnLearningRates()
    {
        var (ps, grads) = Problem(14, 2);
        var p0 = ps.Select(p => D(p.Data.ToArray())).ToArray();
        var opt = new SGD(new[] { new ParamGroup(new[] { ps[0] }, lr: 0.5), new ParamGroup(new[] { ps[1] }, weightDecay: 0.1) }, lr: 0.01, weightDecay: 0.0);
        Assert.Equal(0.5, opt.Groups[0].Lr);
        Assert.Equal(0.0, opt.Groups[0].WeightDecay);
        Assert.Equal(0.01, opt.Groups[1].Lr);
        Assert.Equal(0.1, opt.Groups[1].WeightDecay);
        Assert.Equal(0.5, opt.Groups[0].InitialLr);
        Run(opt, ps, grads);
        NnAssert.Close(RefSgd(p0[0], grads.Select(s => D(s[0])).ToArray(), 0.5, 0, 0, 0, false).Select(x => (float)x).ToArray(), ps[0].Data.ToArray(), 1e-6, 1e-5);
        NnAssert.Close(RefSgd(p0[1], grads.Select(s => D(s[1])).ToArray(), 0.01, 0, 0, 0.1, false).Select(x => (float)x).ToArray(), ps[1].Data.ToArray(), 1e-6, 1e-5);
    }

    [Fact]
    public void AParameterMayBeInOnlyOneGroup()
    {
        var (ps, _) = Problem(15, 0);
        Assert.Throws<ArgumentException>(() => new SGD(new[] { new ParamGroup(ps), new ParamGroup(new[] { ps[0] }) }, 0.1));
    }

    // ---------------------------------------------------------------- schedule

    [Fact]
    public void CosineScheduleValuesAtKeySteps()
    {
        Assert.Equal(0.0, CosineSchedule.LrAt(0.1, 0, 10, 110));
        NnAssert.Close(0.05, CosineSchedule.LrAt(0.1, 5, 10, 110), 1e-15, 1e-12);
        NnAssert.Close(0.09, CosineSchedule.LrAt(0.1, 9, 10, 110), 1e-15, 1e-12);
        NnAssert.Close(0.1, CosineSchedule.LrAt(0.1, 10, 10, 110), 1e-15, 1e-12);
        NnAssert.Close(0.08535533905932738, CosineSchedule.LrAt(0.1, 35, 10, 110), 1e-15, 1e-12); // quarter: 0.5(1 + cos π/4)
        NnAssert.Close(0.05, CosineSchedule.LrAt(0.1, 60, 10, 110), 1e-15, 1e-12);
        NnAssert.Close(0.1 * 0.5 * (1 + Math.Cos(Math.PI * 99 / 100)), CosineSchedule.LrAt(0.1, 109, 10, 110), 1e-15, 1e-12);
        Assert.Equal(0.0, CosineSchedule.LrAt(0.1, 110, 10, 110), 12);
        Assert.Equal(0.0, CosineSchedule.LrAt(0.1, 500, 10, 110));
        Assert.Equal(1.0, CosineSchedule.Factor(0, 0, 10)); // no warm-up
    }

    [Fact]
    public void CosineScheduleDrivesEveryGroupFromItsInitialLr()
    {
        var (ps, _) = Problem(16, 0);
        var opt = new SGD(new[] { new ParamGroup(new[] { ps[0] }, lr: 0.2), new ParamGroup(new[] { ps[1] }) }, lr: 0.1);
        var sched = new CosineSchedule(opt, 4, 14);
        Assert.Equal(0.0, opt.Groups[0].Lr);
        Assert.Equal(0.0, opt.Groups[1].Lr);

        // The first update uses lr(0) = 0: nothing moves.
        var before = ps[0].Data.ToArray();
        ps[0].Grad = Tensor.Ones(3, 2);
        opt.Step();
        sched.Step();
        Assert.Equal(before, ps[0].Data.ToArray());
        NnAssert.Close(0.05, opt.Groups[0].Lr, 1e-15, 1e-12);
        NnAssert.Close(0.025, opt.Groups[1].Lr, 1e-15, 1e-12);

        for (int i = 0; i < 8; i++) sched.Step();
        Assert.Equal(9, sched.StepCount);
        NnAssert.Close(0.1, opt.Groups[0].Lr, 1e-15, 1e-12);  // step 9 = warmup + half of 10
        NnAssert.Close(0.05, opt.Groups[1].Lr, 1e-15, 1e-12);
        Assert.Equal(0.2, opt.Groups[0].InitialLr);

        sched.StepCount = 4;
        Assert.Equal(0.2, opt.Groups[0].Lr, 15);
        Assert.Throws<ArgumentException>(() => new CosineSchedule(opt, 10, 10));
    }

    // ---------------------------------------------------------------- resume

    private static Sequential Net(ulong seed)
    {
        var g = new Generator(seed);
        return new Sequential(new Linear(g, 4, 6), new ReLU(), new LayerNormFree(), new Linear(g, 6, 2));
    }

    /// <summary>Identity placeholder with a norm-like 1-D parameter, so that no-decay groups are non-trivial.</summary>
    private sealed class LayerNormFree : Module, IForward
    {
        public LayerNormFree() => Scale = RegisterParameter("weight", Tensor.Full(1.1f, 6));
        public Variable Scale { get; }
        public Variable Forward(Variable x) => x * Scale;
    }

    private static void TrainStep(Sequential net, Optimizer opt, CosineSchedule sched, Variable x, Variable y)
    {
        opt.ZeroGrad();
        var loss = Ops.Mean(Ops.Square(net.Forward(x) - y));
        loss.Backward();
        opt.Step();
        sched.Step();
    }

    private static Optimizer MakeOptimizer(string kind, Module net) => kind switch
    {
        "adamw" => new AdamW(ParamGroup.SplitDecay(net, 0.05), lr: 0.01),
        "sgd" => new SGD(ParamGroup.SplitDecay(net, 1e-4), lr: 0.1, momentum: 0.9, nesterov: true),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void ResumeFromSavedStateIsExact(string kind)
    {
        var dir = Directory.CreateTempSubdirectory("sifa-nn-");
        try
        {
            var g = new Generator(99);
            var x = new Variable(Tensor.RandN(g, new[] { 8, 4 }));
            var y = new Variable(Tensor.RandN(g, new[] { 8, 2 }));

            var netA = Net(1);
            var optA = MakeOptimizer(kind, netA);
            var schedA = new CosineSchedule(optA, 2, 10);
            for (int i = 0; i < 3; i++) TrainStep(netA, optA, schedA, x, y);
            var modelPath = Path.Combine(dir.FullName, "model.safetensors");
            var optPath = Path.Combine(dir.FullName, "optim.safetensors");
            netA.Save(modelPath);
            optA.StateDict().Save(optPath);
            long schedStep = schedA.StepCount;
            for (int i = 0; i < 4; i++) TrainStep(netA, optA, schedA, x, y);

            var netB = Net(2);
            netB.Load(modelPath);
            var optB = MakeOptimizer(kind, netB);
            optB.LoadStateDict(OptimizerState.Load(optPath));
            Assert.Equal(3, optB.StepCount);
            var schedB = new CosineSchedule(optB, 2, 10) { StepCount = schedStep };
            for (int i = 0; i < 4; i++) TrainStep(netB, optB, schedB, x, y);

            var a = NnAssert.Snapshot(netA);
            NnAssert.SameValues(a, netB);
            Assert.Equal(optA.StepCount, optB.StepCount);
            for (int k = 0; k < optA.Groups.Count; k++) Assert.Equal(optA.Groups[k].Lr, optB.Groups[k].Lr);

            // A fresh run without the optimizer state differs (the state matters).
            var netC = Net(2);
            netC.Load(modelPath);
            var optC = MakeOptimizer(kind, netC);
            var schedC = new CosineSchedule(optC, 2, 10) { StepCount = schedStep };
            for (int i = 0; i < 4; i++) TrainStep(netC, optC, schedC, x, y);
            Assert.NotEqual(a["3.weight"], netC.StateDict()["3.weight"].Tensor.ToArray());
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void InMemoryStateRoundTripRestoresBuffersAndHyperParameters()
    {
        var (ps, grads) = Problem(17, 2);
        var opt = new AdamW(new[] { new ParamGroup(new[] { ps[0] }, lr: 0.3, name: "g0"), new ParamGroup(new[] { ps[1] }, weightDecay: 0.0) }, lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6);
        Run(opt, ps, grads);
        opt.Groups[0].Lr = 0.123;
        var st = opt.StateDict();

        var (ps2, _) = Problem(17, 0);
        var opt2 = new AdamW(new[] { new ParamGroup(new[] { ps2[0] }), new ParamGroup(new[] { ps2[1] }) });
        opt2.LoadStateDict(st);
        Assert.Equal(0.8, opt2.Beta1);
        Assert.Equal(0.95, opt2.Beta2);
        Assert.Equal(1e-6, opt2.Eps);
        Assert.Equal(0.123, opt2.Groups[0].Lr);
        Assert.Equal(0.3, opt2.Groups[0].InitialLr);
        Assert.Equal(0.0, opt2.Groups[1].WeightDecay);
        Assert.Equal(0.01, opt2.Groups[1].Lr);
        Assert.Equal(2, opt2.ParamStep(0));
        Assert.Equal(opt.ExpAvg(0)!.ToArray(), opt2.ExpAvg(0)!.ToArray());
        Assert.Equal(opt.ExpAvgSq(1)!.ToArray(), opt2.ExpAvgSq(1)!.ToArray());
        Assert.NotSame(opt.ExpAvg(0), opt2.ExpAvg(0)); // copied, not aliased
    }

    [Fact]
    public void IncompatibleStateIsRejectedWithoutChanges()
    {
        var (ps, grads) = Problem(18, 2);
        var opt = new AdamW(ps, lr: 0.01);
        Run(opt, ps, grads);
        var m0 = opt.ExpAvg(0)!.ToArray();

        // Different grouping.
        var (qs, _) = Problem(18, 0);
        var other = new AdamW(new[] { new ParamGroup(new[] { qs[0] }), new ParamGroup(new[] { qs[1] }) }, lr: 0.5);
        Run(other, qs, grads);
        Assert.Throws<InvalidDataException>(() => opt.LoadStateDict(other.StateDict()));

        // Different kind.
        var sgd = new SGD(ps, lr: 0.1, momentum: 0.9);
        Assert.Throws<InvalidDataException>(() => opt.LoadStateDict(sgd.StateDict()));

        // Wrong shape of a buffer.
        var bad = opt.StateDict();
        bad.Tensors["state.1.exp_avg"] = new("F32", Tensor.Zeros(5));
        var fresh = new AdamW(ps, lr: 0.02);
        Run(fresh, ps, grads.Take(1).ToArray());
        var freshM = fresh.ExpAvg(0)!.ToArray();
        var ex = Assert.Throws<InvalidDataException>(() => fresh.LoadStateDict(bad));
        Assert.Contains("state.1.exp_avg", ex.Message);
        Assert.Equal(freshM, fresh.ExpAvg(0)!.ToArray());
        Assert.Equal(1, fresh.ParamStep(0));
        Assert.Equal(0.02, fresh.Groups[0].Lr);
        Assert.Equal(m0, opt.ExpAvg(0)!.ToArray());
    }
}
