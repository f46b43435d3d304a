using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>Cross-entropy with label smoothing, forward and backward, on every device equal to the CPU backend.</summary>
public class CrossEntropyGpuTests
{
    public static TheoryData<string, int, int, float> Cases()
    {
        var data = new TheoryData<string, int, int, float>();
        foreach (var d in TestDevices.Available())
        {
            data.Add(d.ToString(), 5, 7, 0f);
            data.Add(d.ToString(), 3, 40, 0.1f);
            data.Add(d.ToString(), 4, 1, 0.2f);
            data.Add(d.ToString(), 1, 3, 1f);
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchCpu(string device, int n, int k, float smoothing)
    {
        var logits = Rand(1, [n, k], 3f);
        var gen = new Generator(2);
        var targets = Enumerable.Range(0, n).Select(_ => gen.NextInt(k)).ToArray();
        var be = Backend(device);
        var cpu = Backends.Cpu.CrossEntropyForward(logits, targets, smoothing);
        var dev = be.CrossEntropyForward(logits.On(device), targets, smoothing);
        Close(cpu.Loss, dev.Loss, "loss");
        Close(cpu.LogProbs, dev.LogProbs, "log-probabilities");

        var g = Tensor.Scalar(0.7f);
        Close(Backends.Cpu.CrossEntropyBackward(cpu.LogProbs, targets, smoothing, g),
            be.CrossEntropyBackward(dev.LogProbs, targets, smoothing, g.On(device)), "dlogits");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void InvalidTargetsThrow(string device)
    {
        var logits = Rand(3, [2, 3]).On(device);
        Assert.Throws<ArgumentOutOfRangeException>(() => Backend(device).CrossEntropyForward(logits, [0, 3], 0f));
        Assert.Throws<ArgumentException>(() => Backend(device).CrossEntropyForward(logits, [0], 0f));
    }
}
