using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Tests.OpTests;
using Xunit;

namespace Sifa.Tests.ModelTests;

/// <summary>
/// The Table 1 blocks built from existing ops (temporal shift, temporal conv, the 3D offset conv, the correlation map):
/// each equals its definition on a hand-made or naive-loop input, and its gradient equals finite differences.
/// </summary>
public class TemporalBlockTests
{
    // x[n, t, c, y, x] = 1000n + 100t + c + (y·w + x)/100: every value says where it came from.
    private static Tensor Labelled(int n, int t, int c, int h, int w)
    {
        var a = new float[n * t * c * h * w];
        int i = 0;
        for (int ni = 0; ni < n; ni++)
            for (int ti = 0; ti < t; ti++)
                for (int ci = 0; ci < c; ci++)
                    for (int p = 0; p < h * w; p++) a[i++] = 1000 * ni + 100 * ti + ci + p / 100f;
        return Tensor.FromArray(a, n * t, c, h, w);
    }

    [Fact]
    public void TemporalShiftMovesExactlyAnEighthEachWay()
    {
        int n = 2, t = 3, c = 16, h = 1, w = 2;
        var y = new TemporalShift().Forward(new Variable(Labelled(n, t, c, h, w)), t).Data.ToArray();
        Assert.Equal(n * t * c * h * w, y.Length);
        int i = 0;
        for (int ni = 0; ni < n; ni++)
            for (int ti = 0; ti < t; ti++)
                for (int ci = 0; ci < c; ci++)
                    for (int p = 0; p < h * w; p++, i++)
                    {
                        // channels 0-1 (C/8) come from frame t+1, channels 2-3 from frame t-1, zero beyond the clip; the rest stay.
                        int from = ci < 2 ? ti + 1 : ci < 4 ? ti - 1 : ti;
                        float want = from < 0 || from >= t ? 0f : 1000 * ni + 100 * from + ci + p / 100f;
                        Assert.True(want == y[i], $"n{ni} t{ti} c{ci} p{p}: got {y[i]}, want {want}");
                    }
    }

    [Fact]
    public void TemporalShiftGradientMatchesFiniteDifferences()
    {
        var x = NaiveRef.V(Tensor.RandN(new Generator(1), new[] { 6, 16, 2, 2 }), "x");
        NaiveRef.AssertGrad(v => new TemporalShift().Forward(v[0], 3), new[] { x }, "tsm");
    }

    // Conv3d(in, out, (3, kh, kw), padding (1, kh/2, kw/2)) over each clip, in double loops.
    private static float[] NaiveConv3d(Tensor x, Tensor weight, int frames)
    {
        int nt = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0], kh = weight.Shape[3], kw = weight.Shape[4];
        float[] xa = x.ToArray(), wa = weight.ToArray();
        var y = new float[nt * o * h * w];
        for (int f = 0; f < nt; f++)
            for (int oc = 0; oc < o; oc++)
                for (int yy = 0; yy < h; yy++)
                    for (int xx = 0; xx < w; xx++)
                    {
                        double acc = 0;
                        for (int dt = 0; dt < 3; dt++)
                        {
                            int tt = f % frames + dt - 1;
                            if (tt < 0 || tt >= frames) continue;
                            int src = f - f % frames + tt;
                            for (int ic = 0; ic < c; ic++)
                                for (int a = 0; a < kh; a++)
                                    for (int b = 0; b < kw; b++)
                                    {
                                        int iy = yy + a - kh / 2, ix = xx + b - kw / 2;
                                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                        acc += (double)xa[((src * c + ic) * h + iy) * w + ix] * wa[(((oc * c + ic) * 3 + dt) * kh + a) * kw + b];
                                    }
                        }
                        y[((f * o + oc) * h + yy) * w + xx] = (float)acc;
                    }
        return y;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void FrameConv3dIsAConv3dOverEachClip(int spatial)
    {
        var gen = new Generator(2);
        var conv = new FrameConv3d(3, 4, spatial);
        conv.Weight.Data.CopyFrom(Tensor.RandN(gen, conv.Weight.Shape));
        var x = Tensor.RandN(gen, new[] { 2 * 3, 3, 4, 5 });
        var y = conv.Forward(new Variable(x), 3);
        NaiveRef.AssertClose(NaiveConv3d(x, conv.Weight.Data, 3), y.Data, 1e-4, 1e-4, "conv3d");
        NaiveRef.AssertGrad(v => conv.Forward(v[0], 3), new[] { NaiveRef.V(x, "x") }, "conv3d dx");
        NaiveRef.AssertGrad(_ => conv.Forward(new Variable(x), 3), new[] { conv.Weight }, "conv3d dw");
    }

    [Fact]
    public void TemporalConvStartsAsTheIdentityAndLearns()
    {
        var gen = new Generator(3);
        var block = new TemporalConvBlock(4);
        var x = Tensor.RandN(gen, new[] { 4, 4, 3, 3 });
        Assert.Equal(new[] { 4, 4, 3, 1, 1 }, block.NamedParameters().Single(p => p.Name == "conv.weight").Parameter.Shape);
        Assert.True(block.Forward(new Variable(x), 2).Data.AllClose(x, 0f, 0f));
        var wt = block.Parameters().Single();
        wt.Data.CopyFrom(Tensor.RandN(gen, wt.Shape));
        var want = NaiveConv3d(x, wt.Data, 2).Zip(x.ToArray(), (a, b) => a + b).ToArray();
        NaiveRef.AssertClose(want, block.Forward(new Variable(x), 2).Data, 1e-4, 1e-4, "x + tconv(x)");
        NaiveRef.AssertGrad(v => block.Forward(v[0], 2), new[] { NaiveRef.V(x, "x") }, "tconv dx");
    }

    // W_{g,j} = (1/Cg) Σ_{c∈g} x_t[c](y,x) · x_next[c](y + (a−r)d, x + (b−r)d), zero outside; next(T−1) = T−1.
    private static float[] NaiveCorrelation(Tensor x, int frames, int k, int dilation, int groups, bool lastNone)
    {
        int nt = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], p = k * k, cg = c / groups, r = k / 2;
        var xa = x.ToArray();
        var y = new float[nt * groups * p * h * w];
        for (int f = 0; f < nt; f++)
        {
            bool last = f % frames == frames - 1;
            int nx = last ? f : f + 1;
            for (int g = 0; g < groups; g++)
                for (int j = 0; j < p; j++)
                    for (int yy = 0; yy < h; yy++)
                        for (int xx = 0; xx < w; xx++)
                        {
                            int sy = yy + (j / k - r) * dilation, sx = xx + (j % k - r) * dilation;
                            double acc = 0;
                            if (!(last && lastNone) && sy >= 0 && sy < h && sx >= 0 && sx < w)
                                for (int ci = g * cg; ci < (g + 1) * cg; ci++)
                                    acc += (double)xa[((f * c + ci) * h + yy) * w + xx] * xa[((nx * c + ci) * h + sy) * w + sx];
                            y[(((f * groups + g) * p + j) * h + yy) * w + xx] = (float)(acc / cg);
                        }
        }
        return y;
    }

    [Theory]
    [InlineData(3, 1, 1, false)]
    [InlineData(3, 2, 2, true)]
    [InlineData(1, 1, 1, false)]
    [InlineData(5, 1, 2, false)]
    public void CorrelationIsTheSifaWeightOnTheRegularGrid(int k, int dilation, int groups, bool lastNone)
    {
        var x = Tensor.RandN(new Generator(4), new[] { 2 * 3, 4, 5, 4 });
        var last = lastNone ? LastFrame.None : LastFrame.Self;
        var corr = CorrelationBlock.Correlation(new Variable(x), 3, k, dilation, groups, last);
        Assert.Equal(new[] { 6, groups * k * k, 5, 4 }, corr.Shape);
        NaiveRef.AssertClose(NaiveCorrelation(x, 3, k, dilation, groups, lastNone), corr.Data, 1e-5, 1e-4, "W_cor");
        NaiveRef.AssertGrad(v => CorrelationBlock.Correlation(v[0], 3, k, dilation, groups, last), new[] { NaiveRef.V(x, "x") }, "W_cor dx");
    }

    [Fact]
    public void CorrelationWithK1IsTheWeightTheSifaOpAggregatesWith()
    {
        // With k = 1 and zero offsets SIFA's output is Y = x + W·x_next, so W = (Y − x) / x_next wherever x_next ≠ 0.
        var x = Tensor.Rand(new Generator(5), new[] { 4, 3, 3, 3 }, 0.5f, 1.5f);
        var xv = new Variable(x);
        var y = SifaOps.Sifa(xv, new Variable(Tensor.Zeros(4, 2, 3, 3)), 2, k: 1);
        var next = SifaBlock.NextFrames(xv, 2).Data.ToArray();
        var fromSifa = (y.Data - x).ToArray();
        var w = CorrelationBlock.Correlation(xv, 2, k: 1).Data.ToArray(); // (4, 1, 3, 3)
        for (int f = 0; f < 4; f++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 9; p++)
                    Assert.Equal(fromSifa[(f * 3 + c) * 9 + p] / next[(f * 3 + c) * 9 + p], w[f * 9 + p], 4);
    }

    [Fact]
    public void CorrelationBlockStartsAsTheIdentityAndProjectsTheMap()
    {
        var gen = new Generator(6);
        var block = new CorrelationBlock(4, new SifaOptions(K: 3, Block: TemporalBlock.Correlation));
        var proj = block.NamedParameters().Single(p => p.Name == "proj.weight").Parameter;
        Assert.Equal(new[] { 4, 9, 1, 1 }, proj.Shape);
        var x = Tensor.RandN(gen, new[] { 4, 4, 3, 3 });
        Assert.True(block.Forward(new Variable(x), 2).Data.AllClose(x, 0f, 0f));
        proj.Data.CopyFrom(Tensor.RandN(gen, proj.Shape));
        NaiveRef.AssertGrad(v => block.Forward(v[0], 2), new[] { NaiveRef.V(x, "x") }, "corr block dx");
        NaiveRef.AssertGrad(_ => block.Forward(new Variable(x), 2), new[] { proj }, "corr block dproj");
    }

    [Fact]
    public void Conv3dOffsetsStartOnTheRegularGridAndTrain()
    {
        var gen = new Generator(7);
        var x = Tensor.RandN(gen, new[] { 4, 4, 4, 4 });
        var conv3d = new SifaBlock(4, new SifaOptions(Offsets: OffsetSource.Conv3d), gen);
        var regular = new SifaBlock(4, new SifaOptions(Offsets: OffsetSource.Regular), gen);
        var w = conv3d.NamedParameters().Single().Parameter;
        Assert.Equal("offset_conv.weight", conv3d.NamedParameters().Single().Name);
        Assert.Equal(new[] { 18, 4, 3, 3, 3 }, w.Shape);
        Assert.True(conv3d.Forward(new Variable(x), 2).Data.AllClose(regular.Forward(new Variable(x), 2).Data, 0f, 0f));
        // Trained, the block is SIFA over the offsets the Conv3d predicts, and its weight gradient is the chain rule through
        // both (FrameConv3d's own gradient is checked against finite differences above; bilinear sampling has kinks, so
        // finite differences through the whole block would straddle them).
        w.Data.CopyFrom(Tensor.RandN(gen, w.Shape, 0f, 0.05f));
        var dy = Tensor.RandN(gen, x.Shape);
        var predictor = new FrameConv3d(4, 18, 3);
        predictor.Weight.Data.CopyFrom(w.Data);
        var offsets = new Variable(predictor.Forward(new Variable(x), 2).Data.Clone(), requiresGrad: true);
        var viaOp = SifaOps.Sifa(new Variable(x), offsets, 2);
        viaOp.Backward(dy);
        predictor.Forward(new Variable(x), 2).Backward(offsets.Grad!);
        var y = conv3d.Forward(new Variable(x), 2);
        y.Backward(dy);
        Assert.True(y.Data.AllClose(viaOp.Data, 0f, 0f));
        NaiveRef.AssertClose(predictor.Weight.Grad!, w.Grad!, 1e-5, 1e-4, "dw through the SIFA op");
        Assert.True(w.Grad!.ToArray().Max(MathF.Abs) > 0);
    }

    [Theory]
    [InlineData("tsm-tiny", "layer2.0.tsm", 0)]
    [InlineData("tconv-tiny", "layer2.0.tconv.conv.weight", 5)]
    [InlineData("corr-tiny", "layer2.0.corr.proj.weight", 4)]
    public void BaselinePresetsPutTheirBlockInEveryChosenBottleneckAndTrain(string preset, string key, int rank)
    {
        var m = Presets.Create(preset, numClasses: 5, image: 32, gen: new Generator(8));
        if (rank > 0)
        {
            var p = m.NamedParameters().Where(q => q.Name.StartsWith("layer", StringComparison.Ordinal) && q.Name.EndsWith(key[7..], StringComparison.Ordinal)).ToList();
            Assert.Equal(3, p.Count); // layers 2, 3, 4 (one bottleneck each)
            Assert.Contains(p, q => q.Name == key && q.Parameter.Rank == rank);
            Assert.All(p, q => Assert.Equal(0f, q.Parameter.Data.ToArray().Max(MathF.Abs))); // zero start survives the Kaiming pass
        }
        Assert.DoesNotContain(m.NamedParameters(), q => q.Name.Contains(".sifa.", StringComparison.Ordinal));
        var loss = Ops.CrossEntropy(m.Forward(new Variable(Tensor.RandN(new Generator(9), new[] { 2, 4, 3, 32, 32 }))), new[] { 1, 3 });
        loss.Backward();
        Assert.True(float.IsFinite(loss.Data.Item()));
        Assert.All(m.Parameters(), p => Assert.NotNull(p.Grad));
    }
}
