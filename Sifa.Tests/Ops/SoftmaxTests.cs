using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

using Ops = Sifa.Autograd.Ops;
using Tensor = Sifa.Tensors.Tensor;

public class SoftmaxTests
{
    public static IEnumerable<object[]> Shapes() => new[]
    {
        new object[] { new[] { 3, 5, 7 } },
        new object[] { new[] { 1, 1 } },
        new object[] { new[] { 2, 5, 600 } },  // inner > one tile for dim 1
        new object[] { new[] { 13 } },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardMatchesNaiveOnEveryDim(int[] shape)
    {
        var gen = new Generator(21);
        var x = NaiveRef.RandSliced(gen, shape) * 4f;
        for (int d = 0; d < shape.Length; d++)
            foreach (bool log in new[] { false, true })
            {
                var y = log ? Ops.LogSoftmax(new Variable(NaiveRef.NonContig(x)), d) : Ops.Softmax(new Variable(NaiveRef.NonContig(x)), d);
                NaiveRef.AssertClose(NaiveRef.Softmax(x, d, log), y.Data, 1e-5, 1e-4, $"{(log ? "log_softmax" : "softmax")} dim {d}");
            }
    }

    [Fact]
    public void StableForLargeLogits()
    {
        var x = Tensor.FromArray(new float[] { 1000, 1001, 1002, -1000, 0, 1000 }, 2, 3);
        foreach (int d in new[] { 0, 1 })
        {
            NaiveRef.AssertClose(NaiveRef.Softmax(x, d, false), Ops.Softmax(new Variable(x), d).Data, 1e-6, 1e-5, "softmax");
            NaiveRef.AssertClose(NaiveRef.Softmax(x, d, true), Ops.LogSoftmax(new Variable(x), d).Data, 1e-4, 1e-5, "log_softmax");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(-1)]
    public void GradCheckEveryDim(int dim)
    {
        var gen = new Generator(22);
        var x = NaiveRef.V(NaiveRef.RandPermuted(gen, 3, 4, 5), "x");
        NaiveRef.AssertGrad(v => Ops.Softmax(v[0], dim), new[] { x }, $"softmax dim {dim}");
        NaiveRef.AssertGrad(v => Ops.LogSoftmax(v[0], dim), new[] { x }, $"log_softmax dim {dim}");
    }

    private static double NaiveCe(Tensor logits, int[] t, float eps)
    {
        int n = logits.Shape[0], k = logits.Shape[1];
        var lp = NaiveRef.Softmax(logits, 1, true).ToArray();
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double l = -(1 - eps) * lp[i * k + t[i]];
            for (int j = 0; j < k; j++) l -= eps / k * lp[i * k + j];
            total += l;
        }
        return total / n;
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    [InlineData(1f)]
    public void CrossEntropyMatchesNaiveAndGradChecks(float eps)
    {
        var gen = new Generator(23);
        var logits = NaiveRef.RandPermuted(gen, 7, 5) * 2f;
        var t = new[] { 0, 4, 2, 2, 1, 3, 4 };
        var loss = Ops.CrossEntropy(new Variable(logits), t, eps);
        Assert.Equal(0, loss.Rank);
        Assert.Equal(NaiveCe(logits, t, eps), loss.Data.Item(), 5);
        var x = NaiveRef.V(logits, "logits");
        NaiveRef.AssertGrad(v => Ops.CrossEntropy(v[0], t, eps), new[] { x }, $"cross_entropy eps {eps}");
    }

    [Fact]
    public void CrossEntropySingleClassAndErrors()
    {
        var one = Ops.CrossEntropy(new Variable(Tensor.FromArray(new float[] { 3f, -2f }, 2, 1)), new[] { 0, 0 });
        Assert.Equal(0f, one.Data.Item(), 6);
        var logits = new Variable(Tensor.Zeros(3, 4));
        Assert.Contains("target 4", Assert.ThrowsAny<ArgumentException>(() => Ops.CrossEntropy(logits, new[] { 0, 4, 1 })).Message);
        Assert.Contains("target -1", Assert.ThrowsAny<ArgumentException>(() => Ops.CrossEntropy(logits, new[] { 0, -1, 1 })).Message);
        Assert.Contains("2 targets", Assert.ThrowsAny<ArgumentException>(() => Ops.CrossEntropy(logits, new[] { 0, 1 })).Message);
        Assert.ThrowsAny<ArgumentException>(() => Ops.CrossEntropy(new Variable(Tensor.Zeros(3, 4, 1)), new[] { 0, 1, 2 }));
    }
}
