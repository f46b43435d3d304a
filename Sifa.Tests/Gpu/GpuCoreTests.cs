using Sifa.Tensors;
using Sifa.Tensors.Gpu;

namespace Sifa.Tests.Gpu;

public class GpuCoreTests
{
    private static readonly Device D = Device.IlgpuCpu;

    private static float[] Random(int n, int seed)
    {
        var r = new System.Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }

    [Fact]
    public void RoundTripCopyFill()
    {
        var host = Tensor.FromArray(Random(24, 1), 2, 3, 4);
        var g = host.ToDevice(D);
        Assert.Equal(D, g.Device);
        Assert.Equal(host.ToArray(), g.ToArray());
        var gt = g.Permute(2, 0, 1);
        Assert.Equal(host.Permute(2, 0, 1).ToArray(), gt.ToArray());
        var z = Tensor.Zeros([5], D);
        Assert.All(z.ToArray(), v => Assert.Equal(0f, v));
        var part = g.Narrow(2, 1, 2);
        part.Fill_(7f);
        var expect = host.Clone();
        expect.Narrow(2, 1, 2).Fill_(7f);
        Assert.Equal(expect.ToArray(), g.ToArray());
    }
}

/// <summary>The per-device pattern: the same test on every available device (cpu, ilgpu-cpu, cuda when present).</summary>
public class PerDeviceCoreTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void LinearLayerAgreesAcrossDevices(string device)
    {
        var d = TestDevices.Of(device);
        var x = GpuTestUtil.Rand(1, 4, 6); var w = GpuTestUtil.Rand(2, 6, 3); var b = GpuTestUtil.Rand(3, 3);
        var expect = (Tensor.Matmul(x, w) + b).Relu().Sum([0]);
        var got = (Tensor.Matmul(x.ToDevice(d), w.ToDevice(d)) + b.ToDevice(d)).Relu().Sum([0]);
        Assert.Equal(d, got.Device);
        GpuTestUtil.Close(expect, got.ToDevice(Device.Cpu));
    }
}
