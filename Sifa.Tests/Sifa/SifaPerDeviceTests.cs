using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;

namespace Sifa.Tests.SifaOp;

/// <summary>
/// The SIFA op and the deformable gather on every device against the CPU backend: forward outputs and every gradient,
/// for every option (k, dilation, groups, last frame, softmax). The CPU kernels themselves are checked against a naive
/// double reference, finite differences and the PyTorch golden files in <see cref="SifaKernelTests"/>.
/// </summary>
public class SifaPerDeviceTests
{
    public static TheoryData<string, int, int, int, bool, bool> Cases()
    {
        var data = new TheoryData<string, int, int, int, bool, bool>();
        foreach (var d in TestDevices.Available())
            foreach (var (k, dil, g, none, soft) in new[] { (3, 1, 1, false, false), (3, 2, 2, true, true), (1, 1, 2, false, true), (5, 1, 1, true, false) })
                data.Add(d.ToString(), k, dil, g, none, soft);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void SifaMatchesTheCpuBackend(string device, int k, int dilation, int groups, bool lastNone, bool softmax)
    {
        var dev = TestDevices.Of(device);
        var gen = new Generator(11);
        int nt = 4, t = 2, c = 4, h = 5, w = 6;
        var x = Tensor.RandN(gen, [nt, c, h, w]);
        var off = Tensor.RandN(gen, [nt, 2 * k * k, h, w], 0, 1.5f);
        var dy = Tensor.RandN(gen, [nt, c, h, w]);
        var last = lastNone ? LastFrame.None : LastFrame.Self;
        var norm = softmax ? SifaNormalize.Softmax : SifaNormalize.None;

        (float[] y, float[] dx, float[] doff) Run(Device d)
        {
            var xv = new Variable(x.ToDevice(d), requiresGrad: true);
            var ov = new Variable(off.ToDevice(d), requiresGrad: true);
            var y = SifaOps.Sifa(xv, ov, t, k, dilation, groups, last, norm);
            y.Backward(dy.ToDevice(d));
            Assert.Equal(d, y.Data.Device);
            return (y.Data.ToArray(), xv.Grad!.ToArray(), ov.Grad!.ToArray());
        }
        var want = Run(Device.Cpu);
        var got = Run(dev);
        AssertClose(want.y, got.y, "y");
        AssertClose(want.dx, got.dx, "dx");
        AssertClose(want.doff, got.doff, "dOffsets");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void DeformGatherMatchesTheCpuBackend(string device)
    {
        var dev = TestDevices.Of(device);
        var gen = new Generator(12);
        int b = 2, c = 3, h = 4, w = 5, k = 3;
        var img = Tensor.RandN(gen, [b, c, h, w]);
        var off = Tensor.RandN(gen, [b, 2 * k * k, h, w], 0, 1.5f);
        var dOut = Tensor.RandN(gen, [b, c, k * k, h, w]);
        (float[] y, float[] di, float[] doff) Run(Device d)
        {
            var iv = new Variable(img.ToDevice(d), requiresGrad: true);
            var ov = new Variable(off.ToDevice(d), requiresGrad: true);
            var y = SifaOps.DeformGather(iv, ov, k, 2);
            y.Backward(dOut.ToDevice(d));
            return (y.Data.ToArray(), iv.Grad!.ToArray(), ov.Grad!.ToArray());
        }
        var want = Run(Device.Cpu);
        var got = Run(dev);
        AssertClose(want.y, got.y, "samples");
        AssertClose(want.di, got.di, "dImg");
        AssertClose(want.doff, got.doff, "dOffsets");
    }

    // 1e-4 relative to the tensor's scale: the GPU backward sums scattered key gradients with atomics, in another order.
    internal static void AssertClose(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        float scale = Math.Max(1e-3f, want.Max(MathF.Abs));
        for (int i = 0; i < want.Length; i++)
            Assert.True(MathF.Abs(want[i] - got[i]) <= 1e-4f * scale + 1e-5f, $"{what}[{i}]: cpu {want[i]} vs device {got[i]}");
    }
}
