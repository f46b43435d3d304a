using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Tests.Nn;

/// <summary>Layer tests that need only the ops already in Sifa.Autograd.</summary>
public class LayerTests
{
    [Fact]
    public void LinearHasPyTorchDefaultInitAndComputesXWtPlusB()
    {
        var g = new Generator(1);
        var lin = new Linear(g, 50, 40);
        float bound = 1f / MathF.Sqrt(50);
        var w = lin.Weight.Data.ToArray();
        Assert.Equal(new[] { 40, 50 }, lin.Weight.Shape);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > 0.9f * bound && w.Min() < -0.9f * bound, "uniform over the whole range");
        Assert.All(lin.Bias!.Data.ToArray(), v => Assert.InRange(v, -bound, bound));

        var x = Tensor.RandN(g, new[] { 2, 3, 50 });
        var y = lin.Forward(new Variable(x)).Data;
        Assert.Equal(new[] { 2, 3, 40 }, y.Shape);
        var xa = x.ToArray(); var ya = y.ToArray(); var b = lin.Bias.Data.ToArray();
        for (int r = 0; r < 6; r++)
            for (int o = 0; o < 40; o++)
            {
                double s = b[o];
                for (int i = 0; i < 50; i++) s += xa[r * 50 + i] * w[o * 50 + i];
                NnAssert.Close(s, ya[r * 40 + o], 1e-5, 1e-4);
            }

        var nb = new Linear(g, 3, 2, bias: false);
        Assert.Null(nb.Bias);
        Assert.Equal(new[] { "weight" }, nb.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void InitialisersHaveTheRightStatistics()
    {
        var g = new Generator(2);
        var w = Tensor.Zeros(64, 32, 3, 3);
        Init.KaimingNormalFanOut(w, g);
        var a = w.ToArray();
        double mean = a.Average(v => (double)v), std = Math.Sqrt(a.Average(v => (v - mean) * (v - mean)));
        NnAssert.Close(Math.Sqrt(2.0 / (64 * 9)), std, 0, 0.03, "kaiming normal fan-out std");
        Assert.InRange(mean, -0.003, 0.003);

        Init.KaimingUniform(w, g);
        double bound = 1 / Math.Sqrt(32 * 9);
        Assert.All(w.ToArray(), v => Assert.InRange(v, -bound, bound));

        var t = Tensor.Zeros(100, 100);
        Init.TruncNormal(t, g);
        var ta = t.ToArray();
        double tm = ta.Average(v => (double)v), ts = Math.Sqrt(ta.Average(v => (v - tm) * (v - tm)));
        NnAssert.Close(0.02, ts, 0, 0.03, "trunc normal std");

        Assert.All(Init.Ones(Tensor.Zeros(3)).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Init.Zeros(Tensor.Ones(3)).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal((18, 36), Init.Fans(new[] { 4, 2, 3, 3 }) is var f ? (f.FanIn, f.FanOut) : default);
        Assert.Equal((5, 7), Init.Fans(new[] { 7, 5 }) is var f2 ? (f2.FanIn, f2.FanOut) : default);
    }

    [Fact]
    public void InitialisationIsReproducibleFromTheSeed()
    {
        var a = new ToyModel(42).StateDict();
        var b = new ToyModel(42).StateDict();
        foreach (var k in a.Keys) Assert.Equal(a[k].Tensor.ToArray(), b[k].Tensor.ToArray());
        Assert.NotEqual(a["fc.weight"].Tensor.ToArray(), new ToyModel(43).StateDict()["fc.weight"].Tensor.ToArray());
    }

    [Fact]
    public void ConvAndNormLayersHavePyTorchShapesAndInitialValues()
    {
        var g = new Generator(3);
        var c = new Conv2d(g, 8, 16, 3, stride: 2, padding: 1, groups: 2);
        Assert.Equal(new[] { 16, 4, 3, 3 }, c.Weight.Shape);
        Assert.Equal(new[] { "weight", "bias" }, c.NamedParameters().Select(p => p.Name));
        float bound = 1f / MathF.Sqrt(4 * 9);
        Assert.All(c.Weight.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(c.Bias!.Data.ToArray(), v => Assert.InRange(v, -bound, bound));

        var z = new Conv2d(g, 8, 18, 3, padding: 1, bias: false, init: ConvInit.Zeros);
        Assert.All(z.Weight.Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.Null(z.Bias);
        Assert.Throws<ArgumentException>(() => new Conv2d(g, 6, 8, 3, groups: 4));

        var bn = new BatchNorm2d(5);
        Assert.Equal(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }, bn.StateDict().Keys);
        Assert.All(bn.Weight!.Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.Bias!.Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningVar.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.RunningMean.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(0f, bn.NumBatchesTracked.Item());
        Assert.Equal(10, bn.ParameterCount());

        var ln = new LayerNorm(7);
        Assert.Equal(new[] { "weight", "bias" }, ln.StateDict().Keys);
        Assert.Empty(new LayerNorm(7, elementwiseAffine: false).StateDict());
    }

    [Fact]
    public void DropoutAndDropPathAreIdentityInEvalAndAtZero()
    {
        var g = new Generator(4);
        var x = new Variable(Tensor.RandN(g, new[] { 4, 5 }));
        var d = new Dropout(0.5f, g);
        var dp = new DropPath(0.3f, g);
        d.Eval(); dp.Eval();
        Assert.Same(x, d.Forward(x));
        Assert.Same(x, dp.Forward(x));
        Assert.Same(x, new Dropout(0f, g).Forward(x));
        Assert.Same(x, new DropPath(0f, g).Forward(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f, g));
    }

    [Fact]
    public void ActivationsAndLossValidateInputs()
    {
        var x = new Variable(Tensor.FromArray(new[] { -1f, 0.5f, 2f }, 3));
        Assert.Equal(new[] { 0f, 0.5f, 2f }, new ReLU().Forward(x).Data.ToArray());
        NnAssert.Close(0.5 * 2 * (1 + Erf(2 / Math.Sqrt(2))), new GELU().Forward(x).Data.ToArray()[2], 1e-6, 1e-5);
        var loss = new CrossEntropyLoss(0.1f);
        Assert.Throws<ArgumentException>(() => loss.Forward(new Variable(Tensor.Zeros(2, 3)), new[] { 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => loss.Forward(new Variable(Tensor.Zeros(2, 3)), new[] { 0, 3 }));
    }

    private static double Erf(double x) => MathNet.Numerics.SpecialFunctions.Erf(x);

    [Fact]
    public void ModuleToCpuKeepsParameterIdentity()
    {
        var m = new ToyModel(1);
        var w = m.Fc.Weight;
        var data = w.Data;
        m.To(Device.Cpu);
        Assert.Same(data, w.Data);
    }
}
