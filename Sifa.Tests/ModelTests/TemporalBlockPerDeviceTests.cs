using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Tests.SifaOp;
using Xunit;

namespace Sifa.Tests.ModelTests;

/// <summary>
/// The Table 1 blocks on every device against the CPU: composed of existing ops, they run wherever those ops have
/// kernels; output, input gradient and parameter gradients agree (random non-zero weights so every path is used).
/// </summary>
public class TemporalBlockPerDeviceTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Available())
            foreach (var block in new[] { "tsm", "tconv", "corr", "sifa-conv3d" })
                data.Add(d.ToString(), block);
        return data;
    }

    private static Module Make(string block) => block switch
    {
        "tsm" => new TemporalShift(),
        "tconv" => new TemporalConvBlock(16),
        "corr" => new CorrelationBlock(16, new SifaOptions(K: 3, Groups: 2, LastFrame: LastFrame.None, Block: TemporalBlock.Correlation)),
        _ => new SifaBlock(16, new SifaOptions(Offsets: OffsetSource.Conv3d)),
    };

    [Theory, MemberData(nameof(Cases))]
    public void BlockMatchesTheCpu(string device, string block)
    {
        var dev = TestDevices.Of(device);
        var gen = new Generator(21);
        var x = Tensor.RandN(gen, [6, 16, 4, 5]);
        var dy = Tensor.RandN(gen, [6, 16, 4, 5]);
        var weights = Make(block).Parameters().Select(p => Tensor.RandN(gen, p.Shape, 0f, 0.05f)).ToList();

        List<float[]> Run(Device d)
        {
            var m = Make(block);
            foreach (var (p, w) in m.Parameters().Zip(weights)) p.Data.CopyFrom(w);
            m.To(d);
            var xv = new Variable(x.ToDevice(d), requiresGrad: true);
            var y = ((ITemporalBlock)m).Forward(xv, 3);
            y.Backward(dy.ToDevice(d));
            Assert.Equal(d, y.Data.Device);
            return new[] { y.Data.ToArray(), xv.Grad!.ToArray() }.Concat(m.Parameters().Select(p => p.Grad!.ToArray())).ToList();
        }
        var want = Run(Device.Cpu);
        var got = Run(dev);
        Assert.Equal(want.Count, got.Count);
        for (int i = 0; i < want.Count; i++) SifaPerDeviceTests.AssertClose(want[i], got[i], $"{block} output {i}");
    }
}
