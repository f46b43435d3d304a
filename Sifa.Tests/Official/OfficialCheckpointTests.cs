using System.Text.Json;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Nn.Checkpoints.Pth;
using Sifa.Tensors;
using Sifa.Tensors.IO;
using Xunit;
using Xunit.Abstractions;

namespace Sifa.Tests.Official;

/// <summary>
/// The official code's checkpoints and forward (fixtures from <c>fixtures/make_official.py</c>, which runs the official
/// model code with its CUDA op replaced by a PyTorch transcription): the training checkpoint (an argparse.Namespace,
/// a <c>module.</c>-prefixed state dict with 5-D conv kernels, <c>conv_offset</c>, <c>def_cor.weight</c>) loads by name,
/// and the logits match the official model's.
/// </summary>
public sealed class OfficialCheckpointTests
{
    private readonly ITestOutputHelper _out;

    /// <summary>Creates the test class.</summary>
    /// <param name="output">xunit output.</param>
    public OfficialCheckpointTests(ITestOutputHelper output) => _out = output;

    private static string Fixture(string name) =>
        Path.Combine(TestPaths.RepoRoot ?? throw new DirectoryNotFoundException("repository root not found"), "Sifa.Tests", "Official", "fixtures", name);

    private static VideoModel Build(JsonElement cfg) => cfg.GetProperty("net_name").GetString() == "c2d_sifa_resnet50"
        ? new OfficialSifaResNet(new OfficialResNetConfig(cfg.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            cfg.GetProperty("width").GetInt32(), cfg.GetProperty("num_classes").GetInt32(), StemStride: cfg.GetProperty("stem_stride").GetInt32(), Dropout: 0f))
        : new OfficialSifaSwin(new OfficialSwinConfig(cfg.GetProperty("image").GetInt32(), cfg.GetProperty("patch").GetInt32(), cfg.GetProperty("embed").GetInt32(),
            cfg.GetProperty("depths").EnumerateArray().Select(e => e.GetInt32()).ToArray(), cfg.GetProperty("heads").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            cfg.GetProperty("window").GetInt32(), cfg.GetProperty("num_classes").GetInt32(), DropPath: 0f, Dropout: 0f, StemStride: cfg.GetProperty("stem_stride").GetInt32()));

    [Fact]
    public void TrainingCheckpointIsReadWithoutExecutingTheNamespace()
    {
        var sd = PthFile.LoadStateDict(Fixture("official_sifa_resnet.pth"));
        Assert.Equal("model", sd.ContainerKey);
        Assert.Contains("skipped argparse.Namespace 'opt' (read as data, never executed)", sd.SkippedEntries);
        Assert.Contains("skipped 'epoch' (int)", sd.SkippedEntries);
        Assert.All(sd.Keys, k => Assert.StartsWith("module.", k));
        Assert.Equal(new[] { 4, 3, 4, 7, 7 }, sd["module.conv1.weight"].Shape);
        Assert.Equal(5, sd["module.layer2.0.conv2.weight"].Shape.Length);
        Assert.True(sd.ContainsKey("module.layer2.1.conv_offset.weight"));
        Assert.True(sd.ContainsKey("module.layer2.1.def_cor.weight"));
        // The namespace's attributes are plain data.
        var root = (PthDict)PthFile.Load(Fixture("official_sifa_resnet.pth"))!;
        var opt = (PthDict)root["opt"]!;
        Assert.Equal("argparse.Namespace", opt.ClassName);
        Assert.Empty(opt);
        Assert.Equal("c2d_sifa_resnet50", opt.Attributes!["net_name"]);
        Assert.Equal(16L, opt.Attributes["clip_length"]);
    }

    [Fact]
    public void NamespaceHoldingAFunctionIsRefusedNamingTheGlobal()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => PthFile.LoadStateDict(Fixture("official_namespace_with_function.pth")));
        Assert.Contains("getcwd", e.Message);
        Assert.Contains("unsupported global", e.Message);
    }

    [Theory]
    [InlineData("official_sifa_resnet")]
    [InlineData("official_sifa_swin")]
    public void OfficialCheckpointLoadsByNameAndMatchesTheOfficialLogits(string name)
    {
        var golden = SafeTensors.Read(Fixture(name + ".golden.safetensors"));
        using var cfgDoc = JsonDocument.Parse(golden.Metadata["config"]);
        var model = Build(cfgDoc.RootElement);
        var report = Pretrained.LoadInto(model, Fixture(name + ".pth"));
        _out.WriteLine(report.Summary());
        Assert.Empty(report.KeptAtInit);
        Assert.Empty(report.ReinitialisedClassifier);
        Assert.Contains(report.Notes, n => n.StartsWith("skipped argparse.Namespace 'opt'", StringComparison.Ordinal));
        Assert.Contains(report.Notes, n => n.StartsWith("official layout:", StringComparison.Ordinal));
        if (model is OfficialSifaResNet)
        {
            Assert.Contains(report.Ignored, k => k.EndsWith("def_cor.weight", StringComparison.Ordinal));
            Assert.Equal(4, report.Ignored.Count(k => k.EndsWith("def_cor.weight", StringComparison.Ordinal))); // layer2..4 and layer4_dual
        }
        var clip = new Variable(golden.Tensors["in.clip"].Tensor);
        foreach (var mode in new[] { "eval", "train" })
        {
            model.Train(mode == "train");
            if (model is OfficialSifaResNet r)
            {
                var (main, dual) = r.Heads(clip);
                AssertClose(golden.Tensors[$"out.{mode}.main"].Tensor, main.Data, $"{name} {mode} fc");
                AssertClose(golden.Tensors[$"out.{mode}.dual"].Tensor, dual.Data, $"{name} {mode} fc_dual");
            }
            else
                AssertClose(golden.Tensors[$"out.{mode}.logits"].Tensor, model.Forward(clip).Data, $"{name} {mode} logits");
        }
    }

    private void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToArray();
        var a = actual.ToArray();
        double scale = e.Max(v => Math.Abs(v)), worst = e.Zip(a).Max(t => Math.Abs(t.First - t.Second));
        _out.WriteLine($"{what}: max |diff| {worst:E2}, max |expected| {scale:F3}");
        Assert.True(worst <= 1e-4 * Math.Max(1, scale), $"{what}: max |diff| {worst:E3} (max |expected| {scale:F3})");
    }
}
