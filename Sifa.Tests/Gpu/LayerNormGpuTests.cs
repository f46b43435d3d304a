using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>Layer norm forward and backward on every device equal to the CPU backend.</summary>
public class LayerNormGpuTests
{
    public static TheoryData<string, int[], bool, bool> Cases()
    {
        var data = new TheoryData<string, int[], bool, bool>();
        foreach (var d in TestDevices.Available())
        {
            data.Add(d.ToString(), [5, 7], true, true);
            data.Add(d.ToString(), [2, 3, 33], true, false);
            data.Add(d.ToString(), [4, 1], false, true);
            data.Add(d.ToString(), [9], false, false);
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchCpu(string device, int[] shape, bool hasWeight, bool hasBias)
    {
        int d = shape[^1];
        var x = Rand(1, shape, 2f, 1f);
        var w = hasWeight ? Rand(2, [d]) : null;
        var b = hasBias ? Rand(3, [d]) : null;
        var be = Backend(device);
        var cpu = Backends.Cpu.LayerNormForward(x, w, b, 1e-5f);
        var dev = be.LayerNormForward(x.On(device), w.OnOrNull(device), b.OnOrNull(device), 1e-5f);
        Close(cpu.Output, dev.Output, "y");
        Close(cpu.Mean, dev.Mean, "mean");
        Close(cpu.InvStd, dev.InvStd, "invstd");

        var dy = Rand(4, shape);
        var gc = Backends.Cpu.LayerNormBackward(dy, x, w, cpu.Mean, cpu.InvStd, true, true, true);
        var gd = be.LayerNormBackward(dy.On(device), x.On(device), w.OnOrNull(device), dev.Mean, dev.InvStd, true, true, true);
        Close(gc.Input, gd.Input, "dx");
        Close(gc.Weight, gd.Weight, "dweight");
        Close(gc.Bias, gd.Bias, "dbias");
    }

    // More rows than one chunk of the two-level parameter sums (no dx: its kernel has barriers, slow on the simulator).
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ParameterGradientsOverManyRowsMatchCpu(string device)
    {
        var x = Rand(5, [131, 6]);
        var dy = Rand(6, [131, 6]);
        var f = Backends.Cpu.LayerNormForward(x, null, null, 1e-5f);
        var cpu = Backends.Cpu.LayerNormBackward(dy, x, null, f.Mean, f.InvStd, false, true, true);
        var dev = Backend(device).LayerNormBackward(dy.On(device), x.On(device), null, f.Mean.On(device), f.InvStd.On(device), false, true, true);
        Assert.Null(dev.Input);
        Close(cpu.Weight, dev.Weight, "dweight");
        Close(cpu.Bias, dev.Bias, "dbias");
        var onlyBias = Backend(device).LayerNormBackward(dy.On(device), x.On(device), null, f.Mean.On(device), f.InvStd.On(device), false, false, true);
        Assert.Null(onlyBias.Weight);
        Close(cpu.Bias, onlyBias.Bias, "dbias alone");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void StridedInputIsRead(string device)
    {
        var x = Rand(7, [6, 3]).Transpose(0, 1); // (3, 6) non-contiguous
        var cpu = Backends.Cpu.LayerNormForward(x, null, null, 1e-5f);
        var dev = Backend(device).LayerNormForward(Rand(7, [6, 3]).On(device).Transpose(0, 1), null, null, 1e-5f);
        Close(cpu.Output, dev.Output, "y");
    }
}
