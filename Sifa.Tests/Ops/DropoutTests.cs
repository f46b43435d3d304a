using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

using Ops = Sifa.Autograd.Ops;
using Tensor = Sifa.Tensors.Tensor;

public class DropoutTests
{
    private static void Near(float expected, float actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-6 + 1e-6 * Math.Abs(expected), $"got {actual:G9}, expected {expected:G9}");

    [Fact]
    public void IdentityInEvalOrWithZeroProbability()
    {
        var x = new Variable(Tensor.Arange(10), requiresGrad: true);
        Assert.Same(x, Ops.Dropout(x, 0.5f, training: false, new Generator(1)));
        Assert.Same(x, Ops.Dropout(x, 0f, training: true, new Generator(1)));
        Assert.Same(x, Ops.DropPath(x, 0.5f, training: false, new Generator(1)));
        Assert.Same(x, Ops.DropPath(x, 0f, training: true, new Generator(1)));
    }

    [Fact]
    public void InvertedScalingKeepRateAndGradient()
    {
        const float p = 0.3f;
        var gen = new Generator(41);
        var xt = NaiveRef.RandSliced(gen, 101, 203);
        var x = NaiveRef.V(xt, "x");
        var y = Ops.Dropout(x, p, true, new Generator(7));
        var dy = NaiveRef.Rand(gen, y.Shape);
        y.Backward(dy);
        float[] xa = xt.ToArray(), ya = y.Data.ToArray(), ga = x.Grad!.ToArray(), da = dy.ToArray();
        int kept = 0;
        for (int i = 0; i < xa.Length; i++)
        {
            bool k = ya[i] != 0;
            if (k) { kept++; Near(xa[i] / (1 - p), ya[i]); Near(da[i] / (1 - p), ga[i]); }
            else Assert.Equal(0f, ga[i]);
        }
        double rate = kept / (double)xa.Length;
        Assert.InRange(rate, 0.7 - 0.01, 0.7 + 0.01);
        // same seed, same mask
        Assert.Equal(ya, Ops.Dropout(new Variable(xt), p, true, new Generator(7)).Data.ToArray());
        Assert.All(Ops.Dropout(new Variable(xt), 1f, true, new Generator(7)).Data.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void DropPathIsPerSample()
    {
        const float p = 0.5f;
        var gen = new Generator(42);
        var xt = NaiveRef.RandPermuted(gen, 64, 3, 4, 5);
        var x = NaiveRef.V(xt, "x");
        var y = Ops.DropPath(x, p, true, new Generator(9));
        y.Backward(Tensor.Ones(y.Shape));
        float[] xa = xt.ToArray(), ya = y.Data.ToArray(), ga = x.Grad!.ToArray();
        int per = 60, kept = 0;
        for (int s = 0; s < 64; s++)
        {
            bool k = ga[s * per] != 0;
            if (k) kept++;
            for (int j = 0; j < per; j++)
            {
                Near(k ? xa[s * per + j] / (1 - p) : 0f, ya[s * per + j]);
                Near(k ? 1 / (1 - p) : 0f, ga[s * per + j]);
            }
        }
        Assert.InRange(kept, 16, 48);
    }

    [Fact]
    public void GradCheckWithFixedMasks()
    {
        var gen = new Generator(43);
        var x = NaiveRef.V(NaiveRef.RandPermuted(gen, 6, 4, 5), "x");
        NaiveRef.AssertGrad(v => Ops.Dropout(v[0], 0.4f, true, new Generator(3)), new[] { x }, "dropout");
        NaiveRef.AssertGrad(v => Ops.DropPath(v[0], 0.4f, true, new Generator(3)), new[] { x }, "drop_path");
    }

    [Fact]
    public void InvalidProbabilityThrows()
    {
        var x = new Variable(Tensor.Zeros(3));
        Assert.ThrowsAny<ArgumentException>(() => Ops.Dropout(x, 1.5f, true, new Generator(1)));
        Assert.ThrowsAny<ArgumentException>(() => Ops.DropPath(x, -0.1f, true, new Generator(1)));
    }
}
