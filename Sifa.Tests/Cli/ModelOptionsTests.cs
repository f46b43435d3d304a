using System.CommandLine;
using Sifa.Cli;
using Sifa.Cli.Commands;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Tests.Data;
using Xunit;

namespace Sifa.Tests.Cli;

/// <summary>
/// The model options of the CLI (paper Table 1 from the command line): k and the stages reach the built network's
/// parameter shapes through the parse path, a config file is read and overridden by flags, and a bad value fails
/// naming the option.
/// </summary>
public class ModelOptionsTests : IClassFixture<MediaFixture>
{
    private readonly MediaFixture _m;

    public ModelOptionsTests(MediaFixture media) => _m = media;

    internal static ModelSpec Parse(params string[] args)
    {
        var options = new ModelOptions("sifa-tiny");
        var cmd = new Command("t");
        options.AddTo(cmd);
        var pr = cmd.Parse(args);
        Assert.Empty(pr.Errors);
        return options.Spec(pr, 5, 32);
    }

    private static IEnumerable<(string Name, int[] Shape)> Shapes(ModelSpec spec, string suffix) =>
        spec.Build(new Generator(1)).NamedParameters().Where(p => p.Name.EndsWith(suffix, StringComparison.Ordinal)).Select(p => (p.Name, p.Parameter.Shape));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(9)]
    public void EveryKOfTable1cReachesTheOffsetConvs(int k)
    {
        var sifa = Shapes(Parse("--sifa-k", $"{k}"), "sifa.offset_conv.weight").ToList();
        Assert.Equal(3, sifa.Count);
        Assert.All(sifa, p => Assert.Equal(2 * k * k, p.Shape[0]));
        var corr = Shapes(Parse("--sifa-k", $"{k}", "--sifa-variant", "sifa-c"), "corr.proj.weight").ToList();
        Assert.Equal(3, corr.Count);
        Assert.All(corr, p => Assert.Equal(k * k, p.Shape[1]));
    }

    [Theory]
    [InlineData("4", new[] { 4 })]
    [InlineData("3,4", new[] { 3, 4 })]
    [InlineData("2,3,4", new[] { 2, 3, 4 })]
    [InlineData("1, 2, 3, 4", new[] { 1, 2, 3, 4 })]
    [InlineData("none", new int[0])]
    public void EveryStageChoiceOfTable1dGetsExactlyItsBlocks(string stages, int[] want)
    {
        var got = Shapes(Parse("--sifa-stages", stages), "sifa.offset_conv.weight").Select(p => p.Name[5] - '0').ToArray();
        Assert.Equal(want, got);
    }

    [Fact]
    public void FlagsOverrideTheConfigFile()
    {
        var file = _m.WriteText("model-options/k5.json", "{\"preset\": \"sifa-tiny\", \"sifa_k\": 5, \"sifa_stages\": [4], \"sifa_offsets\": \"difference\"}");
        var fromFile = Parse("--model", file);
        Assert.Equal((5, "4", OffsetSource.Difference), (fromFile.SifaK!.Value, string.Join(",", fromFile.SifaStages!), fromFile.SifaOffsets!.Value));
        var overridden = Parse("--model", file, "--sifa-k", "7", "--sifa-offsets", "conv3d");
        Assert.Equal((7, "4", OffsetSource.Conv3d), (overridden.SifaK!.Value, string.Join(",", overridden.SifaStages!), overridden.SifaOffsets!.Value));
        Assert.Equal(new[] { 98, 128, 3, 3, 3 }, Shapes(overridden, "offset_conv.weight").Single().Shape);
    }

    [Theory]
    [InlineData("--sifa-k", "4")]
    [InlineData("--sifa-k", "11")]
    [InlineData("--sifa-k", "-1")]
    [InlineData("--sifa-stages", "5")]
    [InlineData("--sifa-stages", "0")]
    [InlineData("--sifa-stages", "2,2")]
    [InlineData("--sifa-stages", "res5")]
    [InlineData("--sifa-offsets", "sideways")]
    [InlineData("--sifa-last-frame", "first")]
    [InlineData("--sifa-variant", "sifa-x")]
    [InlineData("--temporal-block", "lstm")]
    [InlineData("--stem-stride", "0")]
    public void ABadValueFailsNamingItsOption(string option, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => Parse(option, value));
        Assert.Contains(option, e.Message);
    }

    [Theory]
    [InlineData("--sifa-offsets", "--sifa-variant", "sifa-r", "--sifa-offsets", "next")]
    [InlineData("--sifa-offsets", "--sifa-variant", "sifa-c", "--sifa-offsets", "msm")]
    [InlineData("--temporal-block", "--sifa-variant", "sifa-c", "--temporal-block", "temporal-shift")]
    [InlineData("--sifa-k", "--model", "tsm-tiny", "--sifa-k", "5")]
    [InlineData("--sifa-k", "--model", "c2d-tiny", "--sifa-k", "5")]
    [InlineData("--temporal-block", "--model", "sifa-swin-t", "--temporal-block", "correlation")]
    public void ContradictorySettingsFailNamingAnOption(string named, params string[] args)
    {
        var e = Assert.Throws<ArgumentException>(() => Parse(args));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void ABadConfigFileFailsNamingTheFileAndField()
    {
        var file = _m.WriteText("model-options/bad.json", "{\"preset\": \"sifa-tiny\", \"sifa_kay\": 5}");
        var e = Assert.Throws<InvalidDataException>(() => Parse("--model", file));
        Assert.Contains("bad.json", e.Message);
        Assert.Contains("sifa_kay", e.Message);
        var k4 = _m.WriteText("model-options/k4.json", "{\"preset\": \"sifa-tiny\", \"sifa_k\": 4}");
        var e2 = Assert.Throws<ArgumentException>(() => Parse("--model", k4));
        Assert.Contains("k4.json", e2.Message);
        Assert.Contains("sifa_k", e2.Message);
        Assert.Throws<FileNotFoundException>(() => Parse("--model", "no-such-model.json"));
    }

    [Fact]
    public void VariantsOfTable1aBuildTheirBlocks()
    {
        Assert.Empty(Shapes(Parse("--sifa-variant", "sifa-r"), "offset_conv.weight"));
        Assert.Equal(3, Shapes(Parse("--sifa-variant", "sifa"), "offset_conv.weight").Count());
        Assert.Equal(3, Shapes(Parse("--sifa-variant", "sifa-c"), "corr.proj.weight").Count());
        Assert.Equal(3, Shapes(Parse("--temporal-block", "temporal-conv"), "tconv.conv.weight").Count());
    }
}

/// <summary>The model options through <c>sifa</c>'s entry point (console output is process-wide, hence the collection).</summary>
[Collection(GlobalStateCollection.Name)]
public class ModelOptionsCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Sifa.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void FlopsBuildsTheModelTheFlagsDescribe()
    {
        var (code, output, err) = Run("flops", "--model", "sifa-tiny", "--sifa-k", "5", "--sifa-stages", "4", "--size", "32", "--frames", "8");
        Assert.True(code == 0, err);
        var spec = new ModelSpec { Preset = "sifa-tiny", SifaK = 5, SifaStages = new[] { 4 }, Image = 32 };
        Assert.Contains($"params={spec.Build().ParameterCount()}", output);
    }

    [Fact]
    public void ModelsPrintsEveryPresetAsAConfigThatRebuildsIt()
    {
        var (code, output, _) = Run("models");
        Assert.Equal(0, code);
        foreach (var name in Presets.Names) Assert.Contains(name, output);
        var (code2, json, _) = Run("models", "tsm-tiny");
        Assert.Equal(0, code2);
        var spec = ModelSpec.FromJson(json) with { NumClasses = 4, Image = 32 };
        Assert.Equal(Presets.Create("tsm-tiny", 4, image: 32).ParameterCount(), spec.Build().ParameterCount());
        var (code3, list, _) = Run("train", "--model", "list");
        Assert.Equal(0, code3);
        Assert.Contains("corr-r50", list);
    }

    [Fact]
    public void TrainAndEvalTakeTheSameModelFlags()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sifa-model-options-{Environment.ProcessId}");
        var config = Path.Combine(dir, "sifa-c-k5.json");
        Directory.CreateDirectory(dir);
        File.WriteAllText(config, "{\"preset\": \"sifa-tiny\", \"sifa_variant\": \"sifa-c\", \"sifa_k\": 5}");
        string[] data = ["--frames", "4", "--size", "16", "--val-size", "8", "--workers", "0"];
        var (code, _, err) = Run(["train", "--model", config, "--sifa-stages", "4", "--train-size", "16", "--batch", "8", "--epochs", "1", "--out", dir, "--overwrite", .. data]);
        Assert.True(code == 0, err);
        var ckpt = Path.Combine(dir, "checkpoint.safetensors");
        var (ok, output, err2) = Run(["eval", "--model", config, "--sifa-stages", "4", "--checkpoint", ckpt, .. data]);
        Assert.True(ok == 0, err2);
        Assert.Contains("top1", output);
        // The checkpoint records the spec, so nothing else is needed ...
        var (alone, output2, err4) = Run(["eval", "--checkpoint", ckpt, "--val-size", "8", "--workers", "0"]);
        Assert.True(alone == 0, err4);
        Assert.Contains("top1", output2);
        // ... and without the override the options describe another network (correlation blocks in three stages): refused, naming both.
        var (bad, _, err3) = Run(["eval", "--model", config, "--checkpoint", ckpt, .. data]);
        Assert.Equal(2, bad);
        Assert.Contains("disagrees with the checkpoint", err3);
        Assert.Contains("sifa_stages", err3);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ABadModelValueIsOneLineAndExitTwo()
    {
        var (code, _, err) = Run("train", "--sifa-k", "6", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Equal("sifa: sifa_k (--sifa-k) must be odd in 1..9, got 6", err.Trim());
    }
}
