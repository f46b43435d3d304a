using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>Max pooling forward (values and argmax) and backward on every device equal to the CPU backend, bit for bit.</summary>
public class MaxPool2dGpuTests
{
    public static TheoryData<string, int[], int[]> Cases()
    {
        int[][] inputs = [[2, 3, 7, 6], [1, 2, 8, 8], [1, 1, 5, 9], [2, 1, 4, 4]];
        int[][] windows = [[3, 3, 2, 2, 1, 1], [2, 2, 2, 2, 0, 0], [2, 3, 1, 2, 1, 1], [4, 4, 1, 1, 2, 2]];
        var data = new TheoryData<string, int[], int[]>();
        foreach (var d in TestDevices.Available())
            for (int i = 0; i < inputs.Length; i++) data.Add(d.ToString(), inputs[i], windows[i]);
        return data;
    }

    private static Pool2dGeometry Window(int[] w) => new(w[0], w[1], w[2], w[3], w[4], w[5]);

    [Theory, MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchCpu(string device, int[] shape, int[] window)
    {
        var g = Window(window);
        // Rounded values make ties common, so "first maximum in window order" is exercised.
        var x = Tensor.FromArray(Rand(1, shape).ToArray().Select(v => MathF.Round(v * 2)).ToArray(), shape);
        var be = Backend(device);
        var cpu = Backends.Cpu.MaxPool2dForward(x, g);
        var dev = be.MaxPool2dForward(x.On(device), g);
        Same(cpu.Output, dev.Output, "y");
        Same(cpu.Indices, dev.Indices, "argmax");

        var dy = Rand(2, cpu.Output.Shape);
        Same(Backends.Cpu.MaxPool2dBackward(dy, cpu.Indices, shape), be.MaxPool2dBackward(dy.On(device), dev.Indices, shape), "dx");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void NaNWinsItsWindow(string device)
    {
        var a = Rand(3, [1, 1, 4, 4]).ToArray();
        a[5] = float.NaN;
        a[15] = float.NaN;
        var x = Tensor.FromArray(a, 1, 1, 4, 4);
        var g = new Pool2dGeometry(3, 3, 1, 1, 1, 1);
        var cpu = Backends.Cpu.MaxPool2dForward(x, g);
        var dev = Backend(device).MaxPool2dForward(x.On(device), g);
        Same(cpu.Output, dev.Output, "y");
        Same(cpu.Indices, dev.Indices, "argmax");
    }
}
