using System.Globalization;
using System.Text.Json;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Tensors.IO;
using Xunit.Abstractions;

namespace Sifa.Tests.PretrainedTests;

/// <summary>
/// Import of PyTorch checkpoints into Sifa models (<see cref="Pretrained"/>, SPEC section 6): logit parity with
/// the reference on the shared <c>.pth</c> fixtures, inflation of 2D checkpoints into video models, classifier
/// re-initialisation and clean errors.
/// </summary>
[Trait("Category", "PthFixture")]
public sealed class PthFixtureTests
{
    private readonly ITestOutputHelper _out;

    /// <summary>Creates the test class.</summary>
    /// <param name="output">xunit output.</param>
    public PthFixtureTests(ITestOutputHelper output) => _out = output;

    // ================================================================== locations

    private static string? FindRepoRoot() => TestPaths.RepoRoot;

    private static string FixtureDir => TestPaths.PthFixtureDir;

    /// <summary>Every <c>NAME.pth</c> of the fixture folder that has a <c>NAME.expected.safetensors</c>.</summary>
    /// <returns>The names.</returns>
    public static IEnumerable<object[]> Fixtures() => Directory.Exists(FixtureDir)
        ? Directory.GetFiles(FixtureDir, "*.pth").OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Where(n => File.Exists(Path.Combine(FixtureDir, n + ".expected.safetensors")))
            .Select(n => new object[] { n })
        : Array.Empty<object[]>();

    private static string Fixture(string name) => Path.Combine(FixtureDir, name);

    // ================================================================== models

    /// <summary>Builds the model a fixture <c>config</c> describes, with overrides.</summary>
    private static Module Build(string configJson, int? stemStride = null, int[]? sifaStages = null, int? numClasses = null, ulong seed = 0) =>
        ModelConfigJson.Build(configJson, stemStride, sifaStages, numClasses, new Generator(seed));

    private static string ConfigOf(string name) => SafeTensors.Read(Fixture(name + ".expected.safetensors")).Metadata["config"];

    private static Tensor Logits(Module model, Tensor clip)
    {
        model.Eval();
        using (GradMode.NoGrad()) return ((IVideoModel)model).Forward(new Variable(clip)).Data;
    }

    /// <summary>max |a-b| / max(1, |b|).</summary>
    private static double MaxRelError(Tensor actual, Tensor expected)
    {
        var a = actual.ToArray();
        var b = expected.ToArray();
        Assert.Equal(b.Length, a.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double e = Math.Abs((double)a[i] - b[i]) / Math.Max(1.0, Math.Abs(b[i]));
            if (double.IsNaN(e)) e = double.PositiveInfinity;
            worst = Math.Max(worst, e);
        }
        return worst;
    }

    private static Dictionary<string, float[]> Snapshot(Module m) =>
        m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Tensor.ToArray());

    private static string TempFile(string suffix) =>
        Path.Combine(Path.GetTempPath(), $"sifa_pretrained_{Environment.ProcessId}_{Guid.NewGuid():N}{suffix}");

    private const string SmallResNet = """{"model": "sifa_resnet", "layers": [1, 1, 1, 1], "width": 8, "num_classes": 10, "sifa_stages": []}""";

    // ================================================================== fixtures

    /// <summary>Each fixture checkpoint loads into the model its config describes and reproduces the reference logits.</summary>
    /// <param name="name">The fixture name.</param>
    [Theory]
    [MemberData(nameof(Fixtures))]
    public void FixtureReproducesReferenceLogits(string name)
    {
        var expected = SafeTensors.Read(Fixture(name + ".expected.safetensors"));
        var model = Build(expected.Metadata["config"]);
        var log = new StringWriter();
        var report = Pretrained.LoadInto(model, Fixture(name + ".pth"), log);
        _out.WriteLine(log.ToString());

        Assert.Equal(expected.Metadata["format"], report.Format);
        Assert.Equal(expected.Metadata["container"], report.ContainerKey ?? "None");
        Assert.Empty(report.Inflated);
        Assert.Empty(report.ReinitialisedClassifier);
        Assert.Empty(report.KeptAtInit);
        Assert.Equal(model.StateDict().Keys.Count(k => !k.EndsWith("relative_position_index", StringComparison.Ordinal)), report.Loaded.Count);
        if (name.StartsWith("swin", StringComparison.Ordinal))
        {
            Assert.Contains(report.Ignored, k => k.EndsWith(".attn_mask", StringComparison.Ordinal));
            Assert.Contains(report.Ignored, k => k.EndsWith(".relative_position_index", StringComparison.Ordinal));
        }

        var logits = Logits(model, expected.Tensors["in.clip"].Tensor);
        double err = MaxRelError(logits, expected.Tensors["out.logits"].Tensor);
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: max logit error {err:G4}"));
        Assert.True(err <= 1e-4, string.Create(CultureInfo.InvariantCulture, $"{name}: max |a-b|/max(1,|b|) = {err:G4} > 1e-4"));
    }

    // ================================================================== inflation

    /// <summary>A 2D ResNet checkpoint inflates into a video ResNet with a temporal stem stride and SIFA stages.</summary>
    /// <param name="stride">The temporal stem stride.</param>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ResNet2DCheckpointInflatesIntoVideoModel(int stride)
    {
        var c2d = Build(SmallResNet, stemStride: 1, seed: 1);
        var path = TempFile(".safetensors");
        try
        {
            c2d.Save(path);
            var video = Build(SmallResNet, stemStride: stride, sifaStages: new[] { 2, 3 }, seed: 2);
            var report = Pretrained.LoadInto(video, path);

            var src = Snapshot(c2d);
            var dst = Snapshot(video);
            var inf = Assert.Single(report.Inflated);
            Assert.Equal("conv1.weight", inf.Key);
            Assert.Equal(stride / 2, inf.CentreTap);
            var w = video.StateDict()["conv1.weight"].Tensor;
            Assert.Equal(new[] { 8, 3, stride, 7, 7 }, w.Shape);
            var k2 = src["conv1.weight"];
            var k5 = dst["conv1.weight"];
            for (int oi = 0; oi < 8 * 3; oi++)
                for (int t = 0; t < stride; t++)
                    for (int j = 0; j < 49; j++)
                        Assert.Equal(t == stride / 2 ? k2[oi * 49 + j] : 0f, k5[(oi * stride + t) * 49 + j]);

            Assert.NotEmpty(report.KeptAtInit);
            Assert.All(report.KeptAtInit, k => Assert.Contains(".sifa.", k, StringComparison.Ordinal));
            Assert.Equal(dst.Keys.Where(k => k.Contains(".sifa.", StringComparison.Ordinal)).Order(), report.KeptAtInit.Order());
            foreach (var k in report.KeptAtInit) Assert.All(dst[k], v => Assert.Equal(0f, v));
            foreach (var (k, v) in src)
                if (k != "conv1.weight") Assert.Equal(v, dst[k]);
            Assert.Equal(src.Count - 1, report.Loaded.Count);
            Assert.Empty(report.ReinitialisedClassifier);
        }
        finally { File.Delete(path); }
    }

    /// <summary>The inflated network sees the middle frame of each group: on a clip with each frame repeated s times it gives the 2D network's logits.</summary>
    [Fact]
    public void InflatedNetworkSeesCentreFrame()
    {
        const int stride = 2;
        var c2d = Build(SmallResNet, stemStride: 1, seed: 3);
        var path = TempFile(".safetensors");
        try
        {
            c2d.Save(path);
            var video = Build(SmallResNet, stemStride: stride, seed: 4);
            Pretrained.LoadInto(video, path);

            var gen = new Generator(5);
            var x = new float[2 * 3 * 32 * 32];
            for (int i = 0; i < x.Length; i++) x[i] = (float)gen.NextNormal();
            var clip = Tensor.FromArray(x, 1, 2, 3, 32, 32);
            int frame = 3 * 32 * 32;
            var rep = new float[x.Length * stride];
            for (int f = 0; f < 2; f++)
                for (int r = 0; r < stride; r++)
                    Array.Copy(x, f * frame, rep, (f * stride + r) * frame, frame);
            var repeated = Tensor.FromArray(rep, 1, 2 * stride, 3, 32, 32);

            double err = MaxRelError(Logits(video, repeated), Logits(c2d, clip));
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inflated vs 2D logits: {err:G4}"));
            Assert.True(err <= 1e-5, $"inflated logits differ by {err}");
        }
        finally { File.Delete(path); }
    }

    /// <summary>The Swin fixture (under <c>model</c>, with derived buffers) inflates into a Swin with a temporal stem and a SIFA stage.</summary>
    [Fact]
    public void SwinFixtureInflatesWithSifaNormKeptAtInit()
    {
        const string name = "swin_tiny_model_key";
        var video = Build(ConfigOf(name), stemStride: 2, sifaStages: new[] { 1 });
        var report = Pretrained.LoadInto(video, Fixture(name + ".pth"));
        Assert.Equal("model", report.ContainerKey);
        var inf = Assert.Single(report.Inflated);
        Assert.Equal("patch_embed.proj.weight", inf.Key);
        Assert.Equal(1, inf.CentreTap);
        Assert.NotEmpty(report.KeptAtInit);
        Assert.Contains(report.KeptAtInit, k => k.Contains("sifa_norm", StringComparison.Ordinal));
        Assert.Contains(report.KeptAtInit, k => k.Contains("sifa.offset_conv", StringComparison.Ordinal));
        Assert.NotEmpty(report.Ignored);
        var sd = Snapshot(video);
        foreach (var k in report.KeptAtInit.Where(k => k.Contains("offset_conv", StringComparison.Ordinal))) Assert.All(sd[k], v => Assert.Equal(0f, v));
    }

    // ================================================================== classifier and errors

    /// <summary>A classifier with another class count stays freshly initialised and is reported.</summary>
    [Fact]
    public void ClassifierWithOtherClassCountIsReinitialised()
    {
        const string name = "resnet_w8_zip";
        var model = Build(ConfigOf(name), numClasses: 5);
        var before = Snapshot(model);
        var log = new StringWriter();
        var report = Pretrained.LoadInto(model, Fixture(name + ".pth"), log);
        Assert.Equal(new[] { "fc.weight", "fc.bias" }, report.ReinitialisedClassifier);
        Assert.Contains("classifier re-initialised", log.ToString(), StringComparison.Ordinal);
        var after = Snapshot(model);
        Assert.Equal(before["fc.weight"], after["fc.weight"]);
        Assert.Equal(before["fc.bias"], after["fc.bias"]);
        Assert.NotEqual(before["conv1.weight"], after["conv1.weight"]);
        Assert.Equal(after.Count - 2, report.Loaded.Count);
    }

    /// <summary>A missing non-SIFA key is an error naming it, and the model is unchanged.</summary>
    [Fact]
    public void MissingKeyIsErrorAndModelUnchanged()
    {
        var c2d = Build(SmallResNet, seed: 6);
        var path = TempFile(".safetensors");
        try
        {
            SafeTensors.Write(path, c2d.StateDict().Where(kv => kv.Key != "layer2.0.conv2.weight")
                .Append(new KeyValuePair<string, NamedTensor>("layer9.bogus", new NamedTensor("F32", Tensor.Zeros(3)))));
            var model = Build(SmallResNet, stemStride: 2, sifaStages: new[] { 3 }, seed: 7);
            var before = Snapshot(model);
            var e = Assert.Throws<StateDictException>(() => Pretrained.LoadInto(model, path));
            Assert.Contains("layer2.0.conv2.weight", e.Message, StringComparison.Ordinal);
            Assert.Contains("layer9.bogus", e.Message, StringComparison.Ordinal);
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(".sifa.", e.Message, StringComparison.Ordinal);
            var after = Snapshot(model);
            foreach (var (k, v) in before) Assert.Equal(v, after[k]);
        }
        finally { File.Delete(path); }
    }

    /// <summary>A mis-shaped non-classifier key is an error.</summary>
    [Fact]
    public void MisShapedKeyIsError()
    {
        var wide = new SifaResNet(new ResNetConfig(new[] { 1, 1, 1, 1 }, 16, 10, Array.Empty<int>(), Dropout: 0f), new Generator(8));
        var path = TempFile(".safetensors");
        try
        {
            wide.Save(path);
            var model = Build(SmallResNet);
            var e = Assert.Throws<StateDictException>(() => Pretrained.LoadInto(model, path));
            Assert.Contains("conv1.weight", e.Message, StringComparison.Ordinal);
        }
        finally { File.Delete(path); }
    }

    /// <summary>A truncated <c>.pth</c> fails cleanly, naming the file, and leaves the model unchanged.</summary>
    [Fact]
    public void TruncatedPthFailsNamingFile()
    {
        var bytes = File.ReadAllBytes(Fixture("resnet_w8_zip.pth"));
        var path = TempFile("_truncated.pth");
        try
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
            var model = Build(SmallResNet);
            var before = Snapshot(model);
            var e = Assert.Throws<Sifa.Tensors.IO.CheckpointFormatException>(() => Pretrained.LoadInto(model, path));
            Assert.Contains(Path.GetFileName(path), e.Message, StringComparison.Ordinal);
            var after = Snapshot(model);
            foreach (var (k, v) in before) Assert.Equal(v, after[k]);
        }
        finally { File.Delete(path); }
    }

    /// <summary>Inflation puts the kernel at the requested tap.</summary>
    [Fact]
    public void InflatePlacesKernelAtTap()
    {
        var k = Tensor.FromArray(Enumerable.Range(1, 2 * 1 * 2 * 2).Select(i => (float)i).ToArray(), 2, 1, 2, 2);
        var w = Pretrained.Inflate(k, 3, 1).ToArray();
        Assert.Equal(new float[] { 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0 }, w);
    }
}
