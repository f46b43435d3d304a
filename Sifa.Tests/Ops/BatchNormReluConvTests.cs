using Sifa.Autograd;
using Sifa.Tensors;
using Sifa.Tests.Gpu;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.OpTests;

/// <summary>
/// conv2d(relu(batch_norm(x))) with the ReLU output rebuilt in the backward: the same values, gradients and running
/// statistics as the two ops one after the other, one activation fewer kept, and a rebuild that is bit for bit the
/// training forward's output on every device.
/// </summary>
public sealed class BatchNormReluConvTests
{
    public static TheoryData<string, int[], bool, bool> ApplyCases()
    {
        int[][] shapes = [[3, 4, 5, 3], [5, 3], [2, 3, 7], [4, 1, 3, 3], [2, 16, 19, 17]];
        var data = new TheoryData<string, int[], bool, bool>();
        foreach (var d in TestDevices.Available())
            for (int i = 0; i < shapes.Length; i++)
                data.Add(d.ToString(), shapes[i], i % 2 == 0, i % 3 != 1);
        return data;
    }

    [Theory, MemberData(nameof(ApplyCases))]
    public void ApplyRebuildsTheTrainingOutputBitForBit(string device, int[] shape, bool affine, bool relu)
    {
        int c = shape[1];
        var be = Backend(device);
        var x = Rand(1, shape, 1.7f, 0.4f).On(device);
        var w = affine ? Rand(2, [c]).On(device) : null;
        var b = affine ? Rand(3, [c]).On(device) : null;
        var (y, mean, invStd) = be.BatchNormTrainForward(x, w, b, null, null, 0.1f, 1e-5f, relu);
        var rebuilt = be.BatchNormApply(x, w, b, mean, invStd, relu);
        Assert.Equal(y.ToArray(), rebuilt.ToArray());
    }

    [Fact]
    public void ApplyNamesAWrongStatisticShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Backends.Cpu.BatchNormApply(Tensor.Zeros(2, 3, 4), null, null, Tensor.Zeros(3), Tensor.Ones(4)));
        Assert.Contains("invstd (4) must be (3)", e.Message);
    }

    // (input shape, conv out channels, kernel, stride, padding, groups, conv bias): the 16 → 32 3×3 case runs the
    // channels-last convolution, the others the general paths.
    public static TheoryData<string, int[], int, int, int, int, int, bool> ConvCases()
    {
        var data = new TheoryData<string, int[], int, int, int, int, int, bool>();
        foreach (var d in TestDevices.Available())
        {
            data.Add(d.ToString(), [2, 4, 7, 6], 5, 3, 1, 1, 1, true);
            data.Add(d.ToString(), [3, 6, 8, 8], 4, 3, 2, 1, 2, false);
            data.Add(d.ToString(), [2, 5, 6, 5], 7, 1, 1, 0, 1, false);
            data.Add(d.ToString(), [2, 16, 9, 9], 32, 3, 1, 1, 1, false);
        }
        return data;
    }

    private sealed record Result(float[] Y, float[] Dx, float[] DGamma, float[] DBeta, float[] DW, float[]? DB, float[] Mean, float[] Var);

    private static Result Run(string device, bool fused, int[] shape, int cout, int k, int stride, int pad, int groups, bool convBias,
        bool xGrad = true)
    {
        int c = shape[1];
        var x = new Variable(Rand(11, shape, 1.3f, 0.2f).On(device), requiresGrad: xGrad);
        var gamma = new Variable(Rand(12, [c]).On(device), requiresGrad: true);
        var beta = new Variable(Rand(13, [c]).On(device), requiresGrad: true);
        var w = new Variable(Rand(14, [cout, c / groups, k, k], 0.3f).On(device), requiresGrad: true);
        var b = convBias ? new Variable(Rand(15, [cout]).On(device), requiresGrad: true) : null;
        Tensor rm = Rand(16, [c]).On(device), rv = (Rand(17, [c]).Abs() + 0.5f).On(device);
        var geometry = Conv2dGeometry.Square(stride, pad, 1, groups);
        var y = fused
            ? Ops.BatchNormReluConv2d(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f, w, b, geometry)
            : Ops.Conv2d(Ops.BatchNormRelu2d(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f), w, b, geometry);
        var dy = Rand(18, y.Shape).On(device);
        y.Backward(dy);
        return new Result(y.Data.ToArray(), xGrad ? x.Grad!.ToArray() : [], gamma.Grad!.ToArray(), beta.Grad!.ToArray(),
            w.Grad!.ToArray(), b?.Grad!.ToArray(), rm.ToArray(), rv.ToArray());
    }

    [Theory, MemberData(nameof(ConvCases))]
    public void EqualsConvOfBatchNormRelu(string device, int[] shape, int cout, int k, int stride, int pad, int groups, bool convBias)
    {
        foreach (bool xGrad in new[] { true, false })
        {
            var plain = Run(device, false, shape, cout, k, stride, pad, groups, convBias, xGrad);
            var fused = Run(device, true, shape, cout, k, stride, pad, groups, convBias, xGrad);
            // The same kernels on the same (bit-identical) values: equal, not close.
            Assert.Equal(plain.Y, fused.Y);
            Assert.Equal(plain.Dx, fused.Dx);
            Assert.Equal(plain.DGamma, fused.DGamma);
            Assert.Equal(plain.DBeta, fused.DBeta);
            Assert.Equal(plain.DW, fused.DW);
            Assert.Equal(plain.DB, fused.DB);
            Assert.Equal(plain.Mean, fused.Mean); // updated once, not again by the rebuild
            Assert.Equal(plain.Var, fused.Var);
        }
    }

    [Fact]
    public void OnlyTheConvolutionWeightNeedsAGradient()
    {
        var geometry = Conv2dGeometry.Square(1, 1, 1, 1);
        float[] Run(bool fused)
        {
            var x = new Variable(Rand(41, [2, 3, 5, 5]));
            var w = new Variable(Rand(42, [4, 3, 3, 3]), requiresGrad: true);
            var y = fused
                ? Ops.BatchNormReluConv2d(x, null, null, Tensor.Zeros(3), Tensor.Ones(3), true, 0.1f, 1e-5f, w, null, geometry)
                : Ops.Conv2d(Ops.BatchNormRelu2d(x, null, null, Tensor.Zeros(3), Tensor.Ones(3), true), w, null, geometry);
            y.Backward(Rand(43, y.Shape));
            return w.Grad!.ToArray();
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Fact]
    public void EvalModeIsTheTwoOpsInTurn()
    {
        var x = new Variable(Rand(21, [2, 3, 5, 5]), requiresGrad: true);
        var w = new Variable(Rand(22, [4, 3, 3, 3]), requiresGrad: true);
        Tensor rm = Rand(23, [3]), rv = Rand(24, [3]).Abs() + 0.5f;
        var geometry = Conv2dGeometry.Square(1, 1, 1, 1);
        var fused = Ops.BatchNormReluConv2d(x, null, null, rm, rv, false, 0.1f, 1e-5f, w, null, geometry);
        var plain = Ops.Conv2d(Ops.BatchNormRelu2d(x, null, null, rm, rv, false, 0.1f, 1e-5f), w, null, geometry);
        Assert.Equal(plain.Data.ToArray(), fused.Data.ToArray());
    }

    [Fact]
    public void PassesTheFiniteDifferenceCheck()
    {
        var inputs = new[]
        {
            new Variable(Rand(31, [2, 3, 4, 4]), requiresGrad: true),
            new Variable(Rand(32, [3]), requiresGrad: true),
            new Variable(Rand(33, [3]), requiresGrad: true),
            new Variable(Rand(34, [2, 3, 3, 3], 0.5f), requiresGrad: true),
            new Variable(Rand(35, [2]), requiresGrad: true),
        };
        NaiveRef.AssertGrad(v => Ops.BatchNormReluConv2d(v[0], v[1], v[2], Tensor.Zeros(3), Tensor.Ones(3), true, 0.1f, 1e-5f,
            v[3], v[4], Conv2dGeometry.Square(2, 1, 1, 1)), inputs, "batch_norm_relu_conv2d", eps: 1e-2, atol: 3e-3, rtol: 2e-2);
    }
}

/// <summary>What the fused op keeps for the backward, measured on a scope's pooled buffers (apart from other tests).</summary>
[Collection(GlobalStateCollection.Name)]
public sealed class BatchNormReluConvMemoryTests
{
    [Fact]
    public void KeepsOneActivationFewerThanTheTwoOps()
    {
        var shape = new[] { 2, 8, 40, 40 }; // 25 600 floats: above the pool's minimum
        long Kept(bool fused)
        {
            using var scope = TensorScope.Begin();
            var x = new Variable(Tensor.RandN(new Generator(1), shape), requiresGrad: true);
            var w = new Variable(Tensor.RandN(new Generator(2), [8, 8, 3, 3]), requiresGrad: true);
            var geometry = Conv2dGeometry.Square(1, 1, 1, 1);
            var y = fused
                ? Ops.BatchNormReluConv2d(x, null, null, Tensor.Zeros(8), Tensor.Ones(8), true, 0.1f, 1e-5f, w, null, geometry)
                : Ops.Conv2d(Ops.BatchNormRelu2d(x, null, null, Tensor.Zeros(8), Tensor.Ones(8), true), w, null, geometry);
            GC.Collect();
            long bytes = scope.LiveBytes;
            GC.KeepAlive(y);
            return bytes;
        }
        long plain = Kept(false), fused = Kept(true);
        Assert.Equal(4L * 2 * 8 * 40 * 40, plain - fused); // exactly the ReLU output
    }
}
