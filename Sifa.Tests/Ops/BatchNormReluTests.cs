using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

/// <summary>The fused batch norm + ReLU equals relu(batch_norm(x)) in value, gradients and running statistics.</summary>
public sealed class BatchNormReluTests
{
    private static Tensor Rand(int seed, params int[] shape) => Tensor.RandN(new Generator((ulong)seed), shape);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MatchesReluOfBatchNorm(bool training)
    {
        var shape = new[] { 3, 5, 4, 7 };
        var g = Rand(4, shape);
        (float[] y, float[] dx, float[] dw, float[] db, float[] rm, float[] rv) Run(bool fused)
        {
            var x = new Variable(Rand(1, shape), requiresGrad: true);
            var w = new Variable(Rand(2, 5), requiresGrad: true);
            var b = new Variable(Rand(3, 5), requiresGrad: true);
            Tensor rm = Rand(5, 5), rv = Rand(6, 5).Abs() + 0.5f;
            var y = fused
                ? Ops.BatchNormRelu2d(x, w, b, rm, rv, training)
                : Ops.Relu(Ops.BatchNorm2d(x, w, b, rm, rv, training));
            y.Backward(g);
            return (y.Data.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray(), rm.ToArray(), rv.ToArray());
        }
        var plain = Run(false);
        var fused = Run(true);
        Assert.Equal(plain.y, fused.y);
        Assert.Equal(plain.rm, fused.rm);
        Assert.Equal(plain.rv, fused.rv);
        NaiveRef.AssertClose(plain.dx, Tensor.FromArray(fused.dx), 1e-6, 1e-5, "dx");
        NaiveRef.AssertClose(plain.dw, Tensor.FromArray(fused.dw), 1e-5, 1e-5, "dweight");
        NaiveRef.AssertClose(plain.db, Tensor.FromArray(fused.db), 1e-5, 1e-5, "dbias");
    }

    [Fact]
    public void PassesTheFiniteDifferenceCheck()
    {
        var inputs = new[]
        {
            new Variable(Rand(7, 2, 3, 3, 4), requiresGrad: true),
            new Variable(Rand(8, 3), requiresGrad: true),
            new Variable(Rand(9, 3), requiresGrad: true),
        };
        NaiveRef.AssertGrad(v => Ops.BatchNormRelu2d(v[0], v[1], v[2], Tensor.Zeros(3), Tensor.Ones(3), training: true),
            inputs, "batch_norm_relu", eps: 1e-2, atol: 2e-3, rtol: 2e-2);
    }
}
