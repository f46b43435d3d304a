using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

using Ops = Sifa.Autograd.Ops;
using Tensor = Sifa.Tensors.Tensor;

public class NormTests
{
    // Naive batch norm over (N, C, S...) in double: output, batch mean, biased and unbiased variance.
    private static (float[] y, double[] mean, double[] var, double[] unbiased) NaiveBn(Tensor x, float[]? w, float[]? b, float eps)
    {
        int n = x.Shape[0], c = x.Shape[1], s = x.Numel / (n * c);
        var xa = x.ToArray();
        var y = new float[xa.Length];
        var mean = new double[c]; var var = new double[c]; var ub = new double[c];
        int m = n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) sum += xa[(i * c + ch) * s + j];
            double mu = sum / m, sq = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) { double dd = xa[(i * c + ch) * s + j] - mu; sq += dd * dd; }
            mean[ch] = mu; var[ch] = sq / m; ub[ch] = m > 1 ? sq / (m - 1) : 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++)
                {
                    int at = (i * c + ch) * s + j;
                    y[at] = (float)((xa[at] - mu) / Math.Sqrt(var[ch] + eps) * (w?[ch] ?? 1) + (b?[ch] ?? 0));
                }
        }
        return (y, mean, var, ub);
    }

    [Theory]
    [InlineData(3, 5, 4, 7)]
    [InlineData(1, 4, 3, 3)]
    [InlineData(2, 3, 1, 1)]
    [InlineData(8, 16, 13, 11)]
    public void BatchNormTrainingMatchesNaiveAndUpdatesRunningStats(int n, int c, int h, int w)
    {
        var gen = new Generator(5);
        var x = NaiveRef.NonContig(NaiveRef.Rand(gen, n, c, h, w) * 2f + 3f);
        var wt = NaiveRef.Rand(gen, c); var bs = NaiveRef.Rand(gen, c);
        var rm = NaiveRef.Rand(gen, c); var rv = Tensor.Rand(gen, new[] { c }, 0.5f, 2f);
        var rm0 = rm.ToArray(); var rv0 = rv.ToArray();
        var y = Ops.BatchNorm2d(new Variable(x), new Variable(wt), new Variable(bs), rm, rv, training: true, momentum: 0.1f, eps: 1e-5f);
        var (yRef, mean, _, ub) = NaiveBn(x, wt.ToArray(), bs.ToArray(), 1e-5f);
        NaiveRef.AssertClose(yRef, y.Data, 1e-4, 1e-4, "y");
        var rmRef = rm0.Select((v, i) => (float)(0.9 * v + 0.1 * mean[i])).ToArray();
        var rvRef = rv0.Select((v, i) => (float)(0.9 * v + 0.1 * ub[i])).ToArray();
        NaiveRef.AssertClose(rmRef, rm, 1e-5, 1e-5, "running_mean");
        NaiveRef.AssertClose(rvRef, rv, 1e-5, 1e-5, "running_var");
    }

    [Fact]
    public void BatchNormEvalUsesRunningStats()
    {
        var gen = new Generator(6);
        int c = 3;
        var x = NaiveRef.RandSliced(gen, 2, c, 5, 3);
        var wt = NaiveRef.Rand(gen, c); var bs = NaiveRef.Rand(gen, c);
        var rm = NaiveRef.Rand(gen, c); var rv = Tensor.Rand(gen, new[] { c }, 0.5f, 2f);
        var rm0 = rm.ToArray(); var rv0 = rv.ToArray();
        var y = Ops.BatchNorm2d(new Variable(x), new Variable(wt), new Variable(bs), rm, rv, training: false);
        var xa = x.ToArray(); var wa = wt.ToArray(); var ba = bs.ToArray();
        var yRef = new float[xa.Length];
        for (int i = 0; i < xa.Length; i++)
        {
            int ch = i / 15 % c;
            yRef[i] = (float)((xa[i] - rm0[ch]) / Math.Sqrt(rv0[ch] + 1e-5) * wa[ch] + ba[ch]);
        }
        NaiveRef.AssertClose(yRef, y.Data, 1e-5, 1e-5, "eval y");
        Assert.Equal(rm0, rm.ToArray());
        Assert.Equal(rv0, rv.ToArray());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void BatchNormGradCheck(bool training, bool affine)
    {
        var gen = new Generator(7);
        int c = 3;
        var x = NaiveRef.V(NaiveRef.RandPermuted(gen, 3, c, 4, 5), "x");
        var w = affine ? NaiveRef.V(NaiveRef.Rand(gen, c), "weight") : null;
        var b = affine ? NaiveRef.V(NaiveRef.Rand(gen, c), "bias") : null;
        var rm = NaiveRef.Rand(gen, c); var rv = Tensor.Rand(gen, new[] { c }, 0.5f, 2f);
        var inputs = affine ? new[] { x, w!, b! } : new[] { x };
        NaiveRef.AssertGrad(v => Ops.BatchNorm2d(v[0], affine ? v[1] : null, affine ? v[2] : null, rm.Clone(), rv.Clone(), training),
            inputs, $"batch_norm training={training} affine={affine}");
    }

    [Fact]
    public void BatchNormRank2AndErrors()
    {
        var gen = new Generator(8);
        var x = NaiveRef.V(NaiveRef.Rand(gen, 6, 5), "x");
        var w = NaiveRef.V(NaiveRef.Rand(gen, 5), "weight");
        var b = NaiveRef.V(NaiveRef.Rand(gen, 5), "bias");
        NaiveRef.AssertGrad(v => Ops.BatchNorm2d(v[0], v[1], v[2], Tensor.Zeros(5), Tensor.Ones(5), true), new[] { x, w, b }, "batch_norm (N, C)");
        Assert.ThrowsAny<ArgumentException>(() => Ops.BatchNorm2d(new Variable(Tensor.Zeros(1, 3, 1, 1)), null, null, Tensor.Zeros(3), Tensor.Ones(3), true));
        Assert.ThrowsAny<ArgumentException>(() => Ops.BatchNorm2d(new Variable(Tensor.Zeros(2, 3, 2, 2)), null, null, Tensor.Zeros(4), Tensor.Ones(4), true));
    }

    private static float[] NaiveLn(Tensor x, float[]? w, float[]? b, float eps)
    {
        int d = x.Shape[^1], rows = x.Numel / d;
        var xa = x.ToArray();
        var y = new float[xa.Length];
        for (int r = 0; r < rows; r++)
        {
            double mu = 0; for (int j = 0; j < d; j++) mu += xa[r * d + j];
            mu /= d;
            double v = 0; for (int j = 0; j < d; j++) { double t = xa[r * d + j] - mu; v += t * t; }
            v /= d;
            for (int j = 0; j < d; j++) y[r * d + j] = (float)((xa[r * d + j] - mu) / Math.Sqrt(v + eps) * (w?[j] ?? 1) + (b?[j] ?? 0));
        }
        return y;
    }

    [Theory]
    [InlineData(3, 7, 13)]
    [InlineData(1, 1, 1)]
    [InlineData(2, 5, 96)]
    [InlineData(64, 49, 37)]
    public void LayerNormMatchesNaive(int a, int b, int d)
    {
        var gen = new Generator(9);
        var x = NaiveRef.NonContig(NaiveRef.Rand(gen, a, b, d) * 3f + 1f);
        var w = NaiveRef.Rand(gen, d); var bs = NaiveRef.Rand(gen, d);
        var y = Ops.LayerNorm(new Variable(x), new Variable(w), new Variable(bs));
        NaiveRef.AssertClose(NaiveLn(x, w.ToArray(), bs.ToArray(), 1e-5f), y.Data, 1e-4, 1e-4, "layer_norm");
        var y2 = Ops.LayerNorm(new Variable(x), null, null, 1e-3f);
        NaiveRef.AssertClose(NaiveLn(x, null, null, 1e-3f), y2.Data, 1e-4, 1e-4, "layer_norm no affine");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LayerNormGradCheck(bool affine)
    {
        var gen = new Generator(10);
        var x = NaiveRef.V(NaiveRef.RandSliced(gen, 3, 4, 7), "x");
        var w = NaiveRef.V(NaiveRef.Rand(gen, 7), "weight");
        var b = NaiveRef.V(NaiveRef.Rand(gen, 7), "bias");
        if (affine) NaiveRef.AssertGrad(v => Ops.LayerNorm(v[0], v[1], v[2]), new[] { x, w, b }, "layer_norm");
        else NaiveRef.AssertGrad(v => Ops.LayerNorm(v[0], null, null), new[] { x }, "layer_norm no affine");
    }

    [Fact]
    public void LayerNormParamGradsOverManyRows()
    {
        // Exercises the multi-part accumulation of dweight / dbias against a naive sum.
        var gen = new Generator(12);
        int rows = 3001, d = 19;
        var x = NaiveRef.Rand(gen, rows, d);
        var w = NaiveRef.V(NaiveRef.Rand(gen, d), "w");
        var b = NaiveRef.V(NaiveRef.Rand(gen, d), "b");
        var dy = NaiveRef.Rand(gen, rows, d);
        Ops.LayerNorm(new Variable(x), w, b).Backward(dy);
        var xa = x.ToArray(); var ga = dy.ToArray();
        var dw = new double[d]; var db = new double[d];
        for (int r = 0; r < rows; r++)
        {
            double mu = 0; for (int j = 0; j < d; j++) mu += xa[r * d + j];
            mu /= d;
            double v = 0; for (int j = 0; j < d; j++) { double t = xa[r * d + j] - mu; v += t * t; }
            double istd = 1 / Math.Sqrt(v / d + 1e-5);
            for (int j = 0; j < d; j++) { dw[j] += ga[r * d + j] * (xa[r * d + j] - mu) * istd; db[j] += ga[r * d + j]; }
        }
        NaiveRef.AssertClose(NaiveRef.ToF(dw), w.Grad!, 1e-3, 1e-4, "dweight");
        NaiveRef.AssertClose(NaiveRef.ToF(db), b.Grad!, 1e-3, 1e-4, "dbias");
    }
}
