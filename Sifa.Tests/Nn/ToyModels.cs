using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Tests.Nn;

/// <summary>A ResNet-like block: conv1, bn1, downsample = Sequential(conv, bn).</summary>
internal sealed class ToyBlock : Module
{
    public ToyBlock(Generator g, int cin, int cout)
    {
        Conv1 = RegisterModule("conv1", new Conv2d(g, cin, cout, 3, padding: 1, bias: false, init: ConvInit.KaimingNormalFanOut));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(cout));
        Downsample = RegisterModule("downsample", new Sequential(new Conv2d(g, cin, cout, 1, bias: false), new BatchNorm2d(cout)));
    }

    public Conv2d Conv1 { get; }
    public BatchNorm2d Bn1 { get; }
    public Sequential Downsample { get; }
}

/// <summary>A nested toy model exercising every kind of registration.</summary>
internal sealed class ToyModel : Module
{
    public ToyModel(ulong seed)
    {
        var g = new Generator(seed);
        Stem = RegisterModule("stem", new Linear(g, 4, 3));
        Layer1 = RegisterModule("layer1", new ModuleList<ToyBlock>(new ToyBlock(g, 2, 3), new ToyBlock(g, 3, 3)));
        Norm = RegisterModule("norm", new LayerNorm(3));
        Fc = RegisterModule("fc", new Linear(g, 3, 5));
        // Registered after the children: PyTorch still lists a module's own entries before its children's.
        Table = RegisterParameter("relative_position_bias_table", Tensor.RandN(g, new[] { 9, 2 }));
        Index = RegisterBuffer("relative_position_index", Tensor.FromArray(new float[] { 0, 1, 2, 3 }, 2, 2), dtype: "I64");
        Mask = RegisterBuffer("attn_mask", Tensor.Zeros(2, 2), persistent: false);
    }

    public void ReplaceFc(Linear fc) => RegisterModule("fc", fc);

    public Linear Stem { get; }
    public ModuleList<ToyBlock> Layer1 { get; }
    public LayerNorm Norm { get; }
    public Linear Fc { get; }
    public Variable Table { get; }
    public ModuleBuffer Index { get; }
    public ModuleBuffer Mask { get; }

    public static readonly string[] ExpectedKeys =
    {
        "relative_position_bias_table",
        "relative_position_index",
        "stem.weight", "stem.bias",
        "layer1.0.conv1.weight",
        "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.weight", "layer1.0.downsample.1.bias", "layer1.0.downsample.1.running_mean", "layer1.0.downsample.1.running_var", "layer1.0.downsample.1.num_batches_tracked",
        "layer1.1.conv1.weight",
        "layer1.1.bn1.weight", "layer1.1.bn1.bias", "layer1.1.bn1.running_mean", "layer1.1.bn1.running_var", "layer1.1.bn1.num_batches_tracked",
        "layer1.1.downsample.0.weight",
        "layer1.1.downsample.1.weight", "layer1.1.downsample.1.bias", "layer1.1.downsample.1.running_mean", "layer1.1.downsample.1.running_var", "layer1.1.downsample.1.num_batches_tracked",
        "norm.weight", "norm.bias",
        "fc.weight", "fc.bias",
    };
}

internal static class NnAssert
{
    public static void Close(double expected, double actual, double atol = 1e-6, double rtol = 1e-5, string what = "")
    {
        Assert.True(Math.Abs(expected - actual) <= atol + rtol * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");
    }

    public static void Close(float[] expected, float[] actual, double atol = 1e-6, double rtol = 1e-5, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], atol, rtol, $"{what}[{i}]");
    }

    public static Dictionary<string, float[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Tensor.ToArray());

    public static void SameValues(Dictionary<string, float[]> expected, Module m)
    {
        var now = Snapshot(m);
        Assert.Equal(expected.Keys.OrderBy(k => k), now.Keys.OrderBy(k => k));
        foreach (var (k, v) in expected) Assert.True(v.AsSpan().SequenceEqual(now[k]), $"values of '{k}' changed");
    }
}
