using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Sifa.Cli.Bench;
using Sifa.Tensors;
using Xunit.Abstractions;

namespace Sifa.Tests.Cli;

/// <summary>
/// <c>sifa bench gpu --device ilgpu-cpu --quick</c> in-process: every backend op agrees with the CPU within 1e-4 and the
/// allocator gives back what it lent. In the process-wide collection: the leak check reads the shared ilgpu-cpu
/// allocator's bytes in use, which a concurrently running GPU test would move.
/// </summary>
[Collection(GlobalStateCollection.Name)]
public partial class GpuCheckTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"\bmaxrel(?:_vs_cublas)?=(\S+)")]
    private static partial Regex MaxRel();

    [SkippableFact]
    public void QuickCheckOnIlgpuCpuAgreesWithTheCpu()
    {
        Skip.IfNot(Backends.TryGet(Device.IlgpuCpu, out _), "no ilgpu-cpu backend in this build");
        var w = new StringWriter();
        var sw = Stopwatch.StartNew();
        int rc = GpuCheck.Run("ilgpu-cpu", quick: true, w);
        var text = w.ToString();
        output.WriteLine($"{sw.Elapsed.TotalSeconds:F1} s");
        output.WriteLine(text);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.StartsWith("device ilgpu-cpu", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("details accelerator=CPU", lines[1], StringComparison.Ordinal);
        var kernels = lines.Where(l => l.StartsWith("kernel ", StringComparison.Ordinal)).ToList();
        foreach (var op in new[] { "map_exp", "reduce_sum_dim1", "softmax_fwd", "matmul", "conv2d_fwd", "conv2d_bwd", "batchnorm_train_bwd_relu",
                     "layernorm_bwd", "cross_entropy_bwd", "maxpool_bwd", "index_add", "adamw_step", "sifa_fwd", "sifa_bwd", "deform_gather_bwd" })
            Assert.Contains(kernels, l => l.StartsWith($"kernel {op} ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("error=", StringComparison.Ordinal));

        var values = lines.SelectMany(l => MaxRel().Matches(l)).Select(m => m.Groups[1].Value).ToList();
        Assert.True(values.Count >= kernels.Count, "every kernel line has a maxrel");
        foreach (var v in values)
            Assert.True(double.TryParse(v, CultureInfo.InvariantCulture, out var r) && r <= 1e-4, $"maxrel={v} exceeds 1e-4:\n{text}");

        Assert.Equal(2, lines.Count(l => l.StartsWith("leak ", StringComparison.Ordinal) && l.EndsWith("ok=true", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("bandwidth kind=copy", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sgemm n=32 path=tiled", StringComparison.Ordinal));
        Assert.Matches(@"^summary checks=\d+ failed=0 .*ok=true$", lines[^1]);
        Assert.Equal(0, rc);
    }

    [SkippableFact]
    public void CudaWithoutAGpuSaysSoInOneLine()
    {
        Skip.If(Backends.TryGet(Device.Cuda, out _), "this machine has a CUDA device");
        var w = new StringWriter();
        int rc = GpuCheck.Run("cuda", quick: true, w);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Matches("^unavailable device=cuda:0 reason=\"cuda:0: [^\"]+\"$", lines[0]);
        Assert.Equal(2, rc);
    }

    [Fact]
    public void TheHostIsNoGpuDevice()
    {
        var e = Assert.Throws<ArgumentException>(() => GpuCheck.Run("cpu", quick: true, TextWriter.Null));
        Assert.Contains("--device cuda or ilgpu-cpu", e.Message, StringComparison.Ordinal);
    }
}
