using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Tests.Golden;

using Tensor = Sifa.Tensors.Tensor;

/// <summary>The golden runner itself: it must fail loudly rather than skip a case or guess a setting.</summary>
public class GoldenRunnerTests
{
    private static GoldenCase Write(string kind, string config)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("sifa-golden-").FullName, "case.safetensors");
        var tensors = new Dictionary<string, NamedTensor> { ["in.x"] = new("F32", Tensor.FromArray(new[] { 1f, -2f }, 2)) };
        SafeTensors.Write(path, tensors, new Dictionary<string, string> { ["case"] = "probe", ["kind"] = kind, ["config"] = config });
        return new GoldenCase(path);
    }

    [Fact]
    public void UnknownKindFails()
    {
        var e = Assert.ThrowsAny<Exception>(() => GoldenRunner.Run(Write("no_such_op", "{}")));
        Assert.Contains("probe", e.Message);
        Assert.Contains("no_such_op", e.Message);
    }

    [Theory]
    [InlineData("{\"dim\": \"-1\"}", "dim")]
    [InlineData("{\"dim\": 1.5}", "dim")]
    [InlineData("{\"dim\": [1]}", "dim")]
    public void WrongFieldTypeFailsNamingCaseAndField(string config, string field)
    {
        var e = Assert.Throws<InvalidDataException>(() => GoldenRunner.Run(Write("softmax", config)));
        Assert.Contains("probe", e.Message);
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void NestedAndListFieldsAreCheckedToo()
    {
        var c = Write("model", "{\"sgd\": {\"lrs\": [0.1, \"x\"]}, \"shifts\": [1, true]}");
        Assert.Contains("'sgd.lrs[1]'", Assert.Throws<InvalidDataException>(() => c.Settings.Section("sgd")!.Numbers("lrs")).Message);
        Assert.Contains("'shifts[1]'", Assert.Throws<InvalidDataException>(() => c.IntList("shifts")).Message);
        Assert.Equal(7, c.Int("absent", 7));
    }

    [Fact]
    public void ModelConfigFieldOfWrongTypeFailsNamingIt()
    {
        var c = Write("model", "{\"model\": \"sifa_resnet\", \"width\": \"8\"}");
        var e = Assert.Throws<InvalidDataException>(() => GoldenRunner.Run(c));
        Assert.Contains("probe", e.Message);
        Assert.Contains("'width'", e.Message);
    }
}
