using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

using Ops = Sifa.Autograd.Ops;
using Tensor = Sifa.Tensors.Tensor;

public class ConvTests
{
    // n, cin, h, w, cout, kh, kw, stride, pad, dilation, groups, bias
    public static IEnumerable<object[]> Cases() => new[]
    {
        new object[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, false },
        new object[] { 2, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1, true },
        new object[] { 3, 4, 11, 7, 6, 3, 3, 2, 1, 1, 2, true },
        new object[] { 2, 4, 9, 9, 4, 3, 3, 1, 2, 2, 2, false },
        new object[] { 2, 5, 6, 7, 3, 1, 1, 1, 0, 1, 1, true },
        new object[] { 2, 6, 8, 8, 4, 1, 1, 2, 0, 1, 1, false },
        new object[] { 1, 3, 13, 11, 5, 7, 7, 2, 3, 1, 1, true },
        new object[] { 2, 4, 5, 5, 4, 3, 3, 1, 1, 1, 4, true },
        new object[] { 2, 2, 5, 6, 3, 2, 3, 1, 1, 1, 1, true },
        new object[] { 3, 3, 8, 8, 2, 3, 3, 3, 0, 1, 1, false },
        new object[] { 1, 2, 4, 4, 3, 5, 5, 1, 2, 1, 1, true },
        new object[] { 4, 16, 20, 20, 16, 3, 3, 1, 1, 1, 1, true },  // batch-parallel path
        new object[] { 3, 16, 19, 17, 12, 3, 3, 1, 1, 1, 2, true },  // sequential images, parallel GEMM/im2col
        new object[] { 1, 32, 23, 23, 8, 3, 3, 2, 1, 1, 1, false },  // single image
        new object[] { 4, 32, 15, 15, 24, 1, 1, 1, 0, 1, 1, true },  // 1×1 batch-parallel
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups, bool hasBias)
    {
        var gen = new Generator((ulong)(n * 1000 + cin * 100 + h + kh));
        var x = NaiveRef.RandPermuted(gen, n, cin, h, w); // non-contiguous
        var wt = NaiveRef.Rand(gen, cout, cin / groups, kh, kw);
        var b = hasBias ? NaiveRef.Rand(gen, cout) : null;
        var y = Ops.Conv2d(NaiveRef.V(x, "x"), NaiveRef.V(wt, "w"), b == null ? null : NaiveRef.V(b, "b"), s, p, d, groups);
        var yRef = NaiveRef.Conv2d(x, wt, b, s, p, d, groups);
        NaiveRef.AssertClose(yRef, y.Data, 1e-4, 1e-4, "y");

        var dy = NaiveRef.RandSliced(gen, y.Shape); // non-contiguous gradient too
        var (dx, dw, db) = x.Backend.Conv2dBackward(dy, x, wt, Conv2dGeometry.Square(s, p, d, groups), true, true, hasBias);
        var (dxRef, dwRef, dbRef) = NaiveRef.Conv2dBackward(dy, x, wt, s, p, d, groups);
        NaiveRef.AssertClose(dxRef, dx!, 1e-4, 1e-4, "dx");
        NaiveRef.AssertClose(dwRef, dw!, 2e-4, 1e-4, "dw");
        if (hasBias) NaiveRef.AssertClose(dbRef, db!, 2e-4, 1e-4, "db");
        else Assert.Null(db);

        // Each gradient alone takes other branches of every path (a first layer needs only dW, a frozen one only dx).
        var g = Conv2dGeometry.Square(s, p, d, groups);
        var (dxOnly, noW, _) = x.Backend.Conv2dBackward(dy, x, wt, g, true, false, false);
        NaiveRef.AssertClose(dxRef, dxOnly!, 1e-4, 1e-4, "dx alone");
        Assert.Null(noW);
        var (noX, dwOnly, _) = x.Backend.Conv2dBackward(dy, x, wt, g, false, true, false);
        NaiveRef.AssertClose(dwRef, dwOnly!, 2e-4, 1e-4, "dw alone");
        Assert.Null(noX);
    }

    [Theory]
    [InlineData(1, 0, 1, 1, 3)]   // plain 3×3 no padding
    [InlineData(1, 1, 1, 1, 3)]   // padding
    [InlineData(2, 1, 1, 1, 3)]   // stride 2
    [InlineData(1, 2, 2, 1, 3)]   // dilation 2
    [InlineData(1, 1, 1, 2, 3)]   // groups 2
    [InlineData(1, 0, 1, 1, 1)]   // 1×1 (direct GEMM path)
    [InlineData(2, 0, 1, 1, 1)]   // 1×1 stride 2
    [InlineData(2, 3, 1, 1, 7)]   // 7×7 stride 2 (stem)
    public void GradCheckAllInputs(int s, int p, int d, int groups, int k)
    {
        var gen = new Generator(11);
        var x = NaiveRef.V(NaiveRef.RandPermuted(gen, 2, 4, 7, 6), "x");
        var w = NaiveRef.V(NaiveRef.Rand(gen, 6, 4 / groups, k, k), "weight");
        var b = NaiveRef.V(NaiveRef.Rand(gen, 6), "bias");
        NaiveRef.AssertGrad(v => Ops.Conv2d(v[0], v[1], v[2], s, p, d, groups), new[] { x, w, b }, $"conv s{s} p{p} d{d} g{groups} k{k}");
    }

    [Fact]
    public void OnlyRequestedGradientsFlow()
    {
        var gen = new Generator(3);
        var x = new Variable(NaiveRef.Rand(gen, 2, 3, 5, 5));
        var w = NaiveRef.V(NaiveRef.Rand(gen, 4, 3, 3, 3), "w");
        var y = Ops.Conv2d(x, w, null, 1, 1);
        y.Backward(Tensor.Ones(y.Shape));
        Assert.Null(x.Grad);
        Assert.NotNull(w.Grad);
        Assert.Equal(new[] { 4, 3, 3, 3 }, w.Grad!.Shape);
    }

    [Fact]
    public void BadShapesGiveClearErrors()
    {
        var x = new Variable(Tensor.Zeros(1, 3, 5, 5));
        Assert.Contains("channels", Assert.ThrowsAny<ArgumentException>(() => Ops.Conv2d(x, new Variable(Tensor.Zeros(4, 2, 3, 3)))).Message);
        Assert.Contains("groups", Assert.ThrowsAny<ArgumentException>(() => Ops.Conv2d(new Variable(Tensor.Zeros(1, 4, 5, 5)), new Variable(Tensor.Zeros(3, 2, 3, 3)), groups: 2)).Message);
        Assert.ThrowsAny<ArgumentException>(() => Ops.Conv2d(x, new Variable(Tensor.Zeros(4, 3, 7, 7))));
        Assert.ThrowsAny<ArgumentException>(() => Ops.Conv2d(x, new Variable(Tensor.Zeros(4, 3, 3, 3)), new Variable(Tensor.Zeros(5))));
    }
}
