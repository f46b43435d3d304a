using Sifa.Models;
using Sifa.Tensors;
using Xunit;

namespace Sifa.Tests.ModelTests;

public class ModelSpecTests
{
    [Fact]
    public void RoundTripsThroughJsonWithOverrides()
    {
        var spec = new ModelSpec { Preset = "sifa-tiny", NumClasses = 5, Image = 32, SifaK = 5, SifaStages = new[] { 4 }, SifaOffsets = OffsetSource.Difference, SifaLastFrame = LastFrame.None };
        var back = ModelSpec.FromJson(spec.ToJson());
        Assert.Equal(spec.ToJson(), back.ToJson());
        Assert.Contains("\"sifa_offsets\": \"difference\"", spec.ToJson());
        Assert.DoesNotContain("stem_stride", spec.ToJson());
    }

    [Fact]
    public void OverridesReachTheBuiltModel()
    {
        var plain = new ModelSpec { Preset = "sifa-tiny", NumClasses = 3, Image = 32 }.Build(new Generator(1));
        var k5 = new ModelSpec { Preset = "sifa-tiny", NumClasses = 3, Image = 32, SifaK = 5 }.Build(new Generator(1));
        var none = new ModelSpec { Preset = "sifa-tiny", NumClasses = 3, Image = 32, SifaStages = Array.Empty<int>() }.Build(new Generator(1));
        var c2d = Presets.Create("c2d-tiny", 3, image: 32, gen: new Generator(1));
        long Count(VideoModel m) => m.Parameters().Sum(p => (long)p.Data.Numel);
        Assert.True(Count(k5) > Count(plain));
        Assert.Equal(Count(c2d), Count(none));
        Assert.Contains(k5.NamedParameters(), p => p.Name.EndsWith("offset_conv.weight", StringComparison.Ordinal) && p.Parameter.Data.Shape[0] == 50);
    }

    [Theory]
    [InlineData("{\"preset\": \"sifa-tiny\", \"sifa_kk\": 3}", "sifa_kk")]
    [InlineData("{\"preset\": \"sifa-tiny\", \"sifa_k\": \"three\"}", "sifa_k")]
    [InlineData("{\"preset\": \"sifa-tiny\", \"sifa_offsets\": \"sideways\"}", "sifa_offsets")]
    public void BadFieldsAreNamed(string json, string field)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelSpec.FromJson(json));
        Assert.Contains(field, e.Message);
    }
}

public class ModelSpecResolveTests
{
    [Fact]
    public void EveryPresetResolvesToAConfigThatResolvesToItself()
    {
        foreach (var name in Presets.Names)
        {
            var full = Presets.Resolve(new ModelSpec { Preset = name });
            Assert.Equal(full.ToJson(), Presets.Resolve(ModelSpec.FromJson(full.ToJson())).ToJson());
            Assert.NotNull(full.StemStride);
            if (!OfficialPresets.Names.Contains(name)) Assert.NotNull(full.SifaStages); // the official ones keep their layout
        }
    }

    [Theory]
    [InlineData("sifa-tiny")]
    [InlineData("c2d-tiny")]
    [InlineData("tsm-tiny")]
    [InlineData("tconv-tiny")]
    [InlineData("corr-tiny")]
    public void TheResolvedConfigBuildsTheSameNetwork(string name)
    {
        var full = Presets.Resolve(new ModelSpec { Preset = name, NumClasses = 3, Image = 32 });
        var a = Presets.Create(name, 3, image: 32, gen: new Generator(2)).StateDict();
        var b = ModelSpec.FromJson(full.ToJson()).Build(new Generator(2)).StateDict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (key, v) in a) Assert.True(v.Tensor.AllClose(b[key].Tensor, 0f, 0f), key);
    }

    [Fact]
    public void TheNewFieldsRoundTripInKebabCase()
    {
        var spec = new ModelSpec { Preset = "sifa-r50", SifaVariant = SifaVariant.SifaC, SifaStages = new[] { 4 } };
        Assert.Contains("\"sifa_variant\": \"sifa-c\"", spec.ToJson());
        Assert.Equal(spec.ToJson(), ModelSpec.FromJson(spec.ToJson()).ToJson());
        var conv3d = new ModelSpec { SifaOffsets = OffsetSource.Conv3d, TemporalBlock = TemporalBlock.TemporalShift };
        Assert.Contains("\"sifa_offsets\": \"conv3d\"", conv3d.ToJson());
        Assert.Contains("\"temporal_block\": \"temporal-shift\"", conv3d.ToJson());
        Assert.Equal(TemporalBlock.Correlation, Presets.Resolve(spec).TemporalBlock);
        Assert.Equal(OffsetSource.Regular, Presets.Resolve(spec with { SifaVariant = SifaVariant.SifaR }).SifaOffsets);
    }
}
