using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

/// <summary>In-place ReLU and residual add: same values and gradients as the out-of-place ops, no new array, clear refusals.</summary>
public sealed class InPlaceOpTests
{
    private static Tensor Rand(int seed, params int[] shape) => Tensor.RandN(new Generator((ulong)seed), shape);

    [Fact]
    public void ReluInPlaceMatchesReluAndReusesTheArray()
    {
        var x = new Variable(Rand(1, 3, 5, 7), requiresGrad: true);
        var g = Rand(2, 3, 5, 7);
        var y1 = Ops.Relu(Ops.Mul(x, new Variable(Tensor.Full(1.5f, 1))));
        y1.Backward(g);
        var g1 = x.Grad!.ToArray(); x.Grad = null;

        var pre = Ops.Mul(x, new Variable(Tensor.Full(1.5f, 1)));
        var y2 = Ops.ReluInPlace(pre);
        Assert.Same(pre.Data.Storage, y2.Data.Storage);
        Assert.Equal(y1.Data.ToArray(), y2.Data.ToArray());
        y2.Backward(g);
        Assert.Equal(g1, x.Grad!.ToArray());
    }

    [Fact]
    public void AddInPlaceMatchesAddWithBroadcasting()
    {
        var a = new Variable(Rand(3, 2, 4, 6), requiresGrad: true);
        var b = new Variable(Rand(4, 4, 1), requiresGrad: true);
        var g = Rand(5, 2, 4, 6);
        var s1 = Ops.Add(Ops.Mul(a, a), b);
        s1.Backward(g);
        float[] ga = a.Grad!.ToArray(), gb = b.Grad!.ToArray();
        a.Grad = null; b.Grad = null;

        var sq = Ops.Mul(a, a);
        var s2 = Ops.AddInPlace(sq, b);
        Assert.Same(sq.Data.Storage, s2.Data.Storage);
        Assert.Equal(s1.Data.ToArray(), s2.Data.ToArray());
        s2.Backward(g);
        Assert.Equal(ga, a.Grad!.ToArray());
        Assert.Equal(gb, b.Grad!.ToArray());
    }

    [Fact]
    public void GradientsPassTheFiniteDifferenceCheck()
    {
        var inputs = new[] { new Variable(Rand(6, 3, 4), requiresGrad: true), new Variable(Rand(7, 3, 4), requiresGrad: true) };
        NaiveRef.AssertGrad(v => Ops.ReluInPlace(Ops.AddInPlace(Ops.Mul(v[0], v[1]), v[1])), inputs, "relu_(add_(a*b, b))");
    }

    [Fact]
    public void RefusesLeavesThatRequireGradViewsAndGrowingShapes()
    {
        var p = new Variable(Rand(8, 4, 4), requiresGrad: true, name: "fc.weight");
        var e = Assert.Throws<InvalidOperationException>(() => Ops.ReluInPlace(p));
        Assert.Contains("fc.weight", e.Message);
        var view = Ops.Transpose(Ops.Mul(p, p), 0, 1);
        Assert.Throws<ArgumentException>(() => Ops.AddInPlace(view, p));
        var small = Ops.Mul(new Variable(Rand(9, 4, 1)), new Variable(Rand(10, 4, 1)));
        Assert.Throws<ArgumentException>(() => Ops.AddInPlace(small, p)); // the sum would be 4x4, a holds 4x1
    }
}
