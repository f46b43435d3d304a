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
