using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Tests.Nn;

/// <summary>
/// Layer tests over the heavy ops (Conv2d, BatchNorm2d, LayerNorm, MaxPool2d, GlobalAvgPool, CrossEntropy, Dropout,
/// DropPath): each layer is checked against direct loops from SPEC section 2.
/// </summary>
public class LayerOpsTests
{
    private static float[] NaiveConv(float[] x, int n, int cin, int h, int w, float[] wt, float[]? b, int cout, int k, int stride, int pad, int dil, int groups, out int ho, out int wo)
    {
        ho = (h + 2 * pad - dil * (k - 1) - 1) / stride + 1;
        wo = (w + 2 * pad - dil * (k - 1) - 1) / stride + 1;
        int cg = cin / groups, og = cout / groups;
        var y = new float[n * cout * ho * wo];
        for (int s = 0; s < n; s++)
            for (int o = 0; o < cout; o++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++)
                    {
                        double acc = b?[o] ?? 0;
                        int gidx = o / og;
                        for (int c = 0; c < cg; c++)
                            for (int a = 0; a < k; a++)
                                for (int bb = 0; bb < k; bb++)
                                {
                                    int yy = i * stride - pad + a * dil, xx = j * stride - pad + bb * dil;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    acc += x[((s * cin + gidx * cg + c) * h + yy) * w + xx] * wt[((o * cg + c) * k + a) * k + bb];
                                }
                        y[((s * cout + o) * ho + i) * wo + j] = (float)acc;
                    }
        return y;
    }

    [Fact]
    public void Conv2dForwardMatchesDirectLoops()
    {
        var g = new Generator(1);
        var conv = new Conv2d(g, 4, 6, 3, stride: 2, padding: 1, dilation: 1, groups: 2);
        var x = Tensor.RandN(g, new[] { 2, 4, 7, 6 });
        var y = conv.Forward(new Variable(x)).Data;
        var expect = NaiveConv(x.ToArray(), 2, 4, 7, 6, conv.Weight.Data.ToArray(), conv.Bias!.Data.ToArray(), 6, 3, 2, 1, 1, 2, out int ho, out int wo);
        Assert.Equal(new[] { 2, 6, ho, wo }, y.Shape);
        NnAssert.Close(expect, y.ToArray(), 1e-4, 1e-3);
    }

    [Fact]
    public void BatchNorm2dTrainingUpdatesRunningStatsAndCountsBatches()
    {
        var g = new Generator(2);
        var bn = new BatchNorm2d(3);
        Init.Uniform(bn.Weight!.Data, g, 0.5f, 1.5f);
        Init.Uniform(bn.Bias!.Data, g, -0.5f, 0.5f);
        var x = Tensor.RandN(g, new[] { 2, 3, 4, 5 }, mean: 1f, std: 2f);
        var y = bn.Forward(new Variable(x)).Data.ToArray();
        var xa = x.ToArray();
        int per = 2 * 4 * 5;
        for (int c = 0; c < 3; c++)
        {
            var vals = new List<double>();
            for (int s = 0; s < 2; s++) for (int i = 0; i < 20; i++) vals.Add(xa[(s * 3 + c) * 20 + i]);
            double mean = vals.Average(), varB = vals.Sum(v => (v - mean) * (v - mean)) / per, varU = varB * per / (per - 1);
            double wgt = bn.Weight.Data.ToArray()[c], bias = bn.Bias.Data.ToArray()[c];
            for (int s = 0; s < 2; s++)
                for (int i = 0; i < 20; i++)
                {
                    int at = (s * 3 + c) * 20 + i;
                    NnAssert.Close((xa[at] - mean) / Math.Sqrt(varB + 1e-5) * wgt + bias, y[at], 1e-4, 1e-3);
                }
            NnAssert.Close(0.1 * mean, bn.RunningMean.ToArray()[c], 1e-5, 1e-4);
            NnAssert.Close(0.9 + 0.1 * varU, bn.RunningVar.ToArray()[c], 1e-5, 1e-4);
        }
        Assert.Equal(1f, bn.NumBatchesTracked.Item());
        bn.Forward(new Variable(x));
        Assert.Equal(2f, bn.NumBatchesTracked.Item());

        // Evaluation uses the running statistics and leaves them (and the count) alone.
        bn.Eval();
        var rm = bn.RunningMean.ToArray(); var rv = bn.RunningVar.ToArray();
        var ye = bn.Forward(new Variable(x)).Data.ToArray();
        Assert.Equal(rm, bn.RunningMean.ToArray());
        Assert.Equal(2f, bn.NumBatchesTracked.Item());
        for (int at = 0; at < xa.Length; at++)
        {
            int c = at / 20 % 3;
            NnAssert.Close((xa[at] - rm[c]) / Math.Sqrt(rv[c] + 1e-5) * bn.Weight.Data.ToArray()[c] + bn.Bias.Data.ToArray()[c], ye[at], 1e-4, 1e-3);
        }
    }

    [Fact]
    public void LayerNormMatchesDirectComputation()
    {
        var g = new Generator(3);
        var ln = new LayerNorm(5);
        Init.Uniform(ln.Weight!.Data, g, 0.5f, 1.5f);
        Init.Uniform(ln.Bias!.Data, g, -0.5f, 0.5f);
        var x = Tensor.RandN(g, new[] { 2, 3, 5 });
        var y = ln.Forward(new Variable(x)).Data.ToArray();
        var xa = x.ToArray(); var w = ln.Weight.Data.ToArray(); var b = ln.Bias.Data.ToArray();
        for (int r = 0; r < 6; r++)
        {
            var row = xa.Skip(r * 5).Take(5).Select(v => (double)v).ToArray();
            double mean = row.Average(), var = row.Sum(v => (v - mean) * (v - mean)) / 5;
            for (int i = 0; i < 5; i++) NnAssert.Close((row[i] - mean) / Math.Sqrt(var + 1e-5) * w[i] + b[i], y[r * 5 + i], 1e-5, 1e-4);
        }
    }

    [Fact]
    public void ConvBnReluSequentialRunsAndBackpropagates()
    {
        var g = new Generator(4);
        var seq = new Sequential(new Conv2d(g, 3, 8, 3, padding: 1, bias: false), new BatchNorm2d(8), new ReLU(), new MaxPool2d(3, 2, 1), new GlobalAvgPool());
        var x = new Variable(Tensor.RandN(g, new[] { 2, 3, 8, 8 }));
        var y = seq.Forward(x);
        Assert.Equal(16, y.Data.Numel);
        Ops.Sum(y).Backward();
        Assert.All(seq.Parameters(), p => Assert.NotNull(p.Grad));
    }

    [Fact]
    public void MaxPoolAndGlobalAvgPoolValues()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)i).ToArray(), 1, 1, 4, 4);
        var mp = new MaxPool2d(2).Forward(new Variable(x)).Data;
        Assert.Equal(new[] { 1, 1, 2, 2 }, mp.Shape);
        Assert.Equal(new[] { 5f, 7f, 13f, 15f }, mp.ToArray());
        var gp = new GlobalAvgPool().Forward(new Variable(x)).Data;
        Assert.Equal(7.5f, gp.ToArray().Single());
    }

    [Fact]
    public void CrossEntropyLossWithLabelSmoothing()
    {
        var g = new Generator(5);
        var logits = Tensor.RandN(g, new[] { 3, 4 });
        int[] t = { 0, 3, 1 };
        const double eps = 0.1;
        var la = logits.ToArray();
        double expect = 0;
        for (int r = 0; r < 3; r++)
        {
            var row = la.Skip(r * 4).Take(4).Select(v => (double)v).ToArray();
            double max = row.Max(), lse = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            var logp = row.Select(v => v - lse).ToArray();
            expect += -(1 - eps) * logp[t[r]] - eps / 4 * logp.Sum();
        }
        expect /= 3;
        var loss = new CrossEntropyLoss((float)eps).Forward(new Variable(logits, true), t);
        NnAssert.Close(expect, loss.Data.Item(), 1e-5, 1e-4);
    }

    [Fact]
    public void DropoutAndDropPathInTrainingScaleKeptValues()
    {
        var g = new Generator(6);
        var x = new Variable(Tensor.Ones(64, 32));
        var y = new Dropout(0.25f, g).Forward(x).Data.ToArray();
        Assert.All(y, v => Assert.True(v == 0f || Math.Abs(v - 1 / 0.75) < 1e-6, $"dropout value {v}"));
        Assert.Contains(y, v => v == 0f);

        var yp = new DropPath(0.5f, g).Forward(x).Data.ToArray();
        for (int r = 0; r < 64; r++)
        {
            var row = yp.Skip(r * 32).Take(32).ToArray();
            Assert.True(row.All(v => v == 0f) || row.All(v => Math.Abs(v - 2f) < 1e-6), $"drop path is per sample (row {r})");
        }
    }
}
