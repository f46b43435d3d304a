using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;
using Xunit;

namespace Sifa.Tests.Official;

/// <summary>The official networks (docs/official.md): parameter counts, blocks, the dual head and its loss.</summary>
public sealed class OfficialModelTests
{
    private static VideoModel Tiny(Generator? gen = null) =>
        new OfficialSifaResNet(new OfficialResNetConfig(new[] { 1, 2, 2, 2 }, Width: 4, NumClasses: 5, StemStride: 4, Dropout: 0f), gen ?? new Generator(3));

    [Theory]
    [InlineData("sifa-r50-official", 43_040_928L)]
    [InlineData("sifa-r101-official", 63_554_272L)]
    [InlineData("sifa-swin-b-official", 108_134_216L)]
    public void PresetsHaveTheOfficialTrainableParameterCounts(string preset, long expected)
    {
        // Counted from the official classes instantiated on CPU (400 classes, 16 frames; the frozen def_cor weights,
        // requires_grad False, excluded: this project does not store them at all).
        var model = Presets.Create(new ModelSpec { Preset = preset, NumClasses = 400 });
        Assert.Equal(expected, model.ParameterCount(trainableOnly: true));
        Assert.Equal(expected, model.ParameterCount());
        Assert.Contains(preset, Presets.Names);
    }

    [Fact]
    public void SifaNetAlternatesGlobalContextAndSifaBlocks()
    {
        var model = Presets.Create(new ModelSpec { Preset = "sifa-r50-official", NumClasses = 400 });
        var names = model.NamedParameters().Select(p => p.Name).ToHashSet();
        string[] sifa = { "layer2.1", "layer2.3", "layer3.1", "layer3.3", "layer3.5", "layer4.1", "layer4_dual.1" };
        string[] gc = { "layer2.0", "layer2.2", "layer3.0", "layer3.2", "layer3.4", "layer4.0", "layer4.2", "layer4_dual.0", "layer4_dual.2" };
        foreach (var b in sifa) Assert.Contains(b + ".sifa.offset_conv.weight", names);
        foreach (var b in gc) Assert.Contains(b + ".fc1.bias", names);
        Assert.Equal(sifa.Length, names.Count(n => n.EndsWith("offset_conv.weight", StringComparison.Ordinal)));
        Assert.DoesNotContain(names, n => n.StartsWith("layer1.", StringComparison.Ordinal) && (n.Contains(".fc1.") || n.Contains(".sifa.")));
        Assert.Contains("fc_dual.weight", names);
        // Official init: Kaiming offset convs (not zero), zero bn3.
        var p = model.NamedParameters().ToDictionary(x => x.Name, x => x.Parameter);
        Assert.Contains(p["layer2.1.sifa.offset_conv.weight"].Data.ToArray(), v => v != 0f);
        Assert.All(p["layer3.2.bn3.weight"].Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(p["layer2.1.bn3.weight"].Data.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void SwinHasTemporalConvAndTdaNormInEveryBlockAndNoPatchNorm()
    {
        var model = Presets.Create(new ModelSpec { Preset = "sifa-swin-b-official", NumClasses = 400 });
        var p = model.NamedParameters().ToDictionary(x => x.Name, x => x.Parameter);
        Assert.Equal(new[] { 128, 3, 4, 4, 4 }, p["patch_embed.proj.weight"].Data.Shape);
        Assert.True(p.ContainsKey("patch_embed.proj.bias"));
        Assert.DoesNotContain(p.Keys, k => k.StartsWith("patch_embed.norm", StringComparison.Ordinal) || k.StartsWith("head.", StringComparison.Ordinal));
        Assert.DoesNotContain(p.Keys, k => k.Contains("offset_conv", StringComparison.Ordinal));
        Assert.Equal(24, p.Keys.Count(k => k.EndsWith(".conv.weight", StringComparison.Ordinal)));
        Assert.Equal(new[] { 512, 512, 1, 3 }, p["layers.2.blocks.5.conv.weight"].Data.Shape);
        Assert.All(p["layers.3.blocks.1.tda_norm.weight"].Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.True(p.ContainsKey("fc.weight"));
    }

    [Fact]
    public void MsmOfficialAddsTheNextFrame()
    {
        var gen = new Generator(5);
        var x = new Variable(Tensor.RandN(gen, new[] { 4, 3, 5, 5 }));
        var next = SifaBlock.NextFrames(x, 2);
        var paper = new SifaBlock(3, new SifaOptions(Offsets: OffsetSource.Msm), gen);
        var official = new SifaBlock(3, new SifaOptions(Offsets: OffsetSource.MsmOfficial), gen);
        var w = Tensor.RandN(gen, official.NamedParameters().Single().Parameter.Data.Shape);
        paper.NamedParameters().Single().Parameter.Data.CopyFrom(w);
        official.NamedParameters().Single().Parameter.Data.CopyFrom(w);
        // The offsets differ exactly by conv(x_next): σ(Δ)·x_next + x_next versus σ(Δ)·x_next; the outputs must differ.
        var a = official.Forward(x, 2).Data.ToArray();
        var b = paper.Forward(x, 2).Data.ToArray();
        Assert.Contains(a.Zip(b), t => Math.Abs(t.First - t.Second) > 1e-4);
        Assert.NotNull(next);
    }

    [Fact]
    public void TrainingLossIsTheSumOfBothCrossEntropiesAndScoresAverageTheSoftmaxes()
    {
        var model = (OfficialSifaResNet)Tiny();
        model.Eval();
        var clip = new Variable(Tensor.RandN(new Generator(9), new[] { 2, 8, 3, 32, 32 }));
        int[] labels = { 1, 4 };
        var (main, dual) = model.Heads(clip);
        var own = model.TrainingLoss(clip, labels, 0f);
        double expected = Ops.CrossEntropy(main, labels).Data.ToArray()[0] + Ops.CrossEntropy(dual, labels).Data.ToArray()[0];
        Assert.Equal(expected, own.Loss.Data.ToArray()[0], 5);
        var pm = Ops.Softmax(main, -1).Data.ToArray();
        var pd = Ops.Softmax(dual, -1).Data.ToArray();
        var scores = Ops.Softmax(model.Forward(clip), -1).Data.ToArray();
        for (int i = 0; i < scores.Length; i++) Assert.Equal((pm[i] + pd[i]) / 2, scores[i], 5);
        var s2 = Ops.Softmax(own.Scores, -1).Data.ToArray();
        for (int i = 0; i < scores.Length; i++) Assert.Equal(scores[i], s2[i], 6);
        // The loss trains both heads.
        own.Loss.Backward();
        var grads = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad);
        Assert.NotNull(grads["fc.weight"]);
        Assert.NotNull(grads["fc_dual.weight"]);
        Assert.NotNull(grads["layer4_dual.1.sifa.offset_conv.weight"]);
    }

    [Fact]
    public void LogMeanSoftmaxIsStableForFarApartLogits()
    {
        var a = new Variable(Tensor.FromArray(new[] { 1000f, 0f, -1000f }, 1, 3));
        var b = new Variable(Tensor.FromArray(new[] { -1000f, 0f, 1000f }, 1, 3));
        var p = Ops.Softmax(DualHead.LogMeanSoftmax(a, b), -1).Data.ToArray();
        Assert.Equal(0.5f, p[0], 5);
        Assert.Equal(0f, p[1], 5);
        Assert.Equal(0.5f, p[2], 5);
    }

    [Fact]
    public void TemporalMaxPoolTakesTheMaxOfFramePairs()
    {
        var gen = new Generator(2);
        var t = Tensor.RandN(gen, new[] { 2 * 5, 3, 2, 2 });
        var x = new Variable(t, requiresGrad: true);
        var y = OfficialSifaResNet.TemporalMaxPool(x, 2, 5);
        Assert.Equal(new[] { 4, 3, 2, 2 }, y.Shape);
        var a = t.ToArray();
        var r = y.Data.ToArray();
        int per = 12;
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < 2; p++)
                for (int i = 0; i < per; i++)
                    Assert.Equal(Math.Max(a[(n * 5 + 2 * p) * per + i], a[(n * 5 + 2 * p + 1) * per + i]), r[(n * 2 + p) * per + i]);
    }

    [Fact]
    public void TooFewFramesForTheDualHeadIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Tiny().Forward(new Variable(Tensor.Zeros(1, 4, 3, 32, 32))));
        Assert.Contains("at least 8 frames", e.Message);
    }

    [Fact]
    public void TemporalConvMixesEachTokensNeighbouringFrames()
    {
        var gen = new Generator(4);
        var conv = new TemporalConv(2);
        var w = Tensor.RandN(gen, new[] { 2, 2, 1, 3 });
        conv.Weight.Data.CopyFrom(w);
        int n = 1, t = 3, l = 2, c = 2;
        var x = Tensor.RandN(gen, new[] { n * t, l, c });
        var y = conv.Forward(new Variable(x), t).Data.ToArray();
        var xa = x.ToArray();
        var wa = w.ToArray();
        for (int f = 0; f < t; f++)
            for (int p = 0; p < l; p++)
                for (int o = 0; o < c; o++)
                {
                    double s = 0;
                    for (int dt = 0; dt < 3; dt++)
                    {
                        int src = f + dt - 1;
                        if (src < 0 || src >= t) continue;
                        for (int i = 0; i < c; i++) s += wa[(o * c + i) * 3 + dt] * xa[(src * l + p) * c + i];
                    }
                    Assert.Equal(s, y[(f * l + p) * c + o], 4);
                }
    }
}
