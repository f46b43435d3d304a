using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;

namespace Sifa.Tests.ModelTests;

/// <summary>Preset parameter counts equal SPEC's reference sizes exactly; small presets run forward and backward.</summary>
public class PresetTests
{
    [Theory]
    [InlineData("c2d-r50", 24_327_632L)]
    [InlineData("sifa-r50", 24_908_240L)]
    [InlineData("sifa-r101", 44_605_392L)]
    [InlineData("sifa-swin-t", 28_315_018L)]
    [InlineData("swin-b", 87_153_224L)]
    [InlineData("sifa-swin-b", 88_307_784L)]
    public void ParameterCountMatchesReference(string preset, long expected)
    {
        var m = Presets.Create(preset, numClasses: 400, stemStride: 1);
        Assert.Equal(expected, m.ParameterCount());
    }

    [Fact]
    public void TemporalStemStrideStoresConv3dLayoutAndDividesFrames()
    {
        var m = Presets.Create("sifa-tiny", numClasses: 5, stemStride: 2);
        var stem = m.NamedParameters().Single(p => p.Name == "conv1.weight").Parameter;
        Assert.Equal(new[] { 16, 3, 2, 7, 7 }, stem.Shape);
        var logits = ((IVideoModel)m).Forward(new Variable(Tensor.RandN(new Generator(1), new[] { 2, 4, 3, 32, 32 })));
        Assert.Equal(new[] { 2, 5 }, logits.Shape);
        Assert.Throws<ArgumentException>(() => ((IVideoModel)m).Forward(new Variable(Tensor.Zeros(1, 3, 3, 32, 32))));
    }

    [Theory]
    [InlineData("sifa-tiny")]
    [InlineData("c2d-tiny")]
    public void TinyPresetsTrainOneStep(string preset)
    {
        var m = Presets.Create(preset, numClasses: 8);
        var clip = Tensor.RandN(new Generator(3), new[] { 2, 4, 3, 32, 32 });
        var loss = Ops.CrossEntropy(((IVideoModel)m).Forward(new Variable(clip)), new[] { 1, 6 });
        loss.Backward();
        Assert.True(float.IsFinite(loss.Data.Item()));
        Assert.All(m.Parameters(), p => Assert.NotNull(p.Grad));
    }

    [Fact]
    public void SifaSwinStartsAsPlainSwin()
    {
        // sifa_norm starts at zero, so a fresh SIFA-Swin computes exactly what the same Swin without SIFA computes.
        var cfg = new SwinConfig(32, 4, 16, new[] { 2, 2 }, new[] { 2, 4 }, 4, 5, DropPath: 0f);
        var withSifa = new SifaSwin(cfg, new Generator(9));
        var plain = new SifaSwin(cfg with { SifaStages = Array.Empty<int>() }, new Generator(9));
        plain.LoadStateDict(withSifa.StateDict().Where(kv => !kv.Key.Contains("sifa")).ToDictionary(kv => kv.Key, kv => kv.Value.Tensor));
        withSifa.Eval(); plain.Eval();
        var clip = new Variable(Tensor.RandN(new Generator(4), new[] { 1, 3, 3, 32, 32 }));
        using var _ = GradMode.NoGrad();
        Assert.True(withSifa.Forward(clip).Data.AllClose(plain.Forward(clip).Data, 1e-5f, 1e-6f));
    }
}
