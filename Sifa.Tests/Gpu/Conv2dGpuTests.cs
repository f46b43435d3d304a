using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>Conv2d forward and backward on every device equal to the CPU backend.</summary>
public class Conv2dGpuTests
{
    // n, cin, h, w, cout, kh, kw, strideH, strideW, padH, padW, dilH, dilW, groups, bias
    public static TheoryData<string, int[]> Cases()
    {
        int[][] shapes =
        [
            [2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1], // odd sizes, padding, bias
            [1, 4, 9, 8, 6, 3, 2, 2, 1, 0, 1, 1, 2, 2, 0], // rectangular kernel, strides, dilation, groups
            [2, 4, 6, 6, 4, 3, 3, 2, 2, 2, 2, 2, 2, 4, 1], // depthwise, big padding, dilation
            [3, 5, 4, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1], // 1x1
            [1, 2, 5, 5, 2, 5, 5, 3, 3, 2, 2, 1, 1, 1, 0], // kernel as large as the padded input
            [2, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1], // large enough for the barrier-free kernel on the CPU accelerator
        ];
        var data = new TheoryData<string, int[]>();
        foreach (var d in TestDevices.Available())
            foreach (var s in shapes) data.Add(d.ToString(), s);
        return data;
    }

    private static (Tensor x, Tensor w, Tensor? b, Conv2dGeometry g, int[] yShape) Problem(int[] c, int seed)
    {
        var g = new Conv2dGeometry(c[7], c[8], c[9], c[10], c[11], c[12], c[13]);
        var x = Rand(seed, [c[0], c[1], c[2], c[3]]);
        var w = Rand(seed + 1, [c[4], c[1] / c[13], c[5], c[6]], 0.5f);
        var b = c[14] != 0 ? Rand(seed + 2, [c[4]]) : null;
        return (x, w, b, g, [c[0], c[4], g.OutH(c[2], c[5]), g.OutW(c[3], c[6])]);
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardMatchesCpu(string device, int[] c)
    {
        var (x, w, b, g, _) = Problem(c, 10);
        var cpu = Backends.Cpu.Conv2dForward(x, w, b, g);
        var dev = Backend(device).Conv2dForward(x.On(device), w.On(device), b.OnOrNull(device), g);
        Close(cpu, dev, "y");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesCpu(string device, int[] c)
    {
        var (x, w, _, g, yShape) = Problem(c, 20);
        var dy = Rand(30, yShape);
        var cpu = Backends.Cpu.Conv2dBackward(dy, x, w, g, true, true, true);
        var dev = Backend(device).Conv2dBackward(dy.On(device), x.On(device), w.On(device), g, true, true, true);
        Close(cpu.Input, dev.Input, "dx");
        Close(cpu.Weight, dev.Weight, "dweight");
        Close(cpu.Bias, dev.Bias, "dbias");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BackwardComputesOnlyWhatIsAsked(string device)
    {
        var g = Conv2dGeometry.Square(stride: 2, padding: 1);
        var x = Rand(1, [2, 3, 5, 6]);
        var w = Rand(2, [4, 3, 3, 3]);
        var dy = Rand(3, [2, 4, 3, 3]);
        var be = Backend(device);
        var (dx, dw, db) = be.Conv2dBackward(dy.On(device), x.On(device), w.On(device), g, needInput: false, needWeight: true, needBias: false);
        Assert.Null(dx);
        Assert.Null(db);
        Close(Backends.Cpu.Conv2dBackward(dy, x, w, g, false, true, false).Weight, dw, "dweight");
        (dx, dw, db) = be.Conv2dBackward(dy.On(device), x.On(device), w.On(device), g, needInput: true, needWeight: false, needBias: true);
        Assert.Null(dw);
        var cpu = Backends.Cpu.Conv2dBackward(dy, x, w, g, true, false, true);
        Close(cpu.Input, dx, "dx");
        Close(cpu.Bias, db, "dbias");
        Assert.Equal((null, null, null), be.Conv2dBackward(dy.On(device), x.On(device), w.On(device), g, false, false, false));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void StridedInputsAreRead(string device)
    {
        var g = Conv2dGeometry.Square(padding: 1);
        var x = Rand(4, [2, 5, 3, 4]).Permute(0, 3, 2, 1); // (2, 4, 3, 5) non-contiguous
        var w = Rand(5, [3, 4, 3, 3]);
        var cpu = Backends.Cpu.Conv2dForward(x, w, null, g);
        var xd = Rand(4, [2, 5, 3, 4]).On(device).Permute(0, 3, 2, 1);
        Close(cpu, Backend(device).Conv2dForward(xd, w.On(device), null, g), "y");
    }
}
