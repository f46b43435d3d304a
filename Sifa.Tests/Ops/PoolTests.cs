using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

using Ops = Sifa.Autograd.Ops;
using Tensor = Sifa.Tensors.Tensor;

public class PoolTests
{
    // n, c, h, w, kernel, stride, padding
    [Theory]
    [InlineData(2, 3, 9, 9, 3, 2, 1)]
    [InlineData(1, 2, 7, 5, 2, 2, 0)]
    [InlineData(2, 1, 6, 6, 3, 1, 1)]
    [InlineData(1, 1, 1, 1, 1, 1, 0)]
    [InlineData(3, 5, 13, 11, 3, 2, 1)]
    [InlineData(2, 64, 32, 32, 3, 2, 1)]
    public void MatchesNaive(int n, int c, int h, int w, int k, int s, int p)
    {
        var gen = new Generator(31);
        var x = NaiveRef.RandPermuted(gen, n, c, h, w);
        var xv = NaiveRef.V(x, "x");
        var y = Ops.MaxPool2d(xv, k, s, p);
        var dy = NaiveRef.Rand(gen, y.Shape);
        var (yRef, dxRef) = NaiveRef.MaxPool(x, k, s, p, dy);
        NaiveRef.AssertClose(yRef, y.Data, 0, 0, "y");
        y.Backward(dy);
        NaiveRef.AssertClose(dxRef, xv.Grad!, 1e-6, 1e-6, "dx");
    }

    [Fact]
    public void TiesGoToTheFirstMaximumInRowMajorWindowOrder()
    {
        // Small integers: many ties inside and across overlapping windows.
        var gen = new Generator(32);
        foreach (var (h, w) in new[] { (8, 7), (9, 40) })   // 40 wide: eight windows at a time (the vector path)
        foreach (var (k, s, p) in new[] { (3, 2, 1), (2, 1, 0), (3, 1, 1) })
        {
            var a = new float[2 * 3 * h * w];
            for (int i = 0; i < a.Length; i++) a[i] = gen.NextInt(3);
            var x = Tensor.FromArray(a, 2, 3, h, w);
            var xv = NaiveRef.V(x, "x");
            var y = Ops.MaxPool2d(xv, k, s, p);
            var dy = NaiveRef.Rand(gen, y.Shape);
            y.Backward(dy);
            var (yRef, dxRef) = NaiveRef.MaxPool(x, k, s, p, dy);
            NaiveRef.AssertClose(yRef, y.Data, 0, 0, "y");
            NaiveRef.AssertClose(dxRef, xv.Grad!, 1e-6, 1e-6, $"dx k{k} s{s} p{p}");
        }
        // All equal: every window's gradient goes to its first (top-left valid) element.
        var flat = NaiveRef.V(Tensor.Full(2f, 1, 1, 4, 4), "flat");
        var yf = Ops.MaxPool2d(flat, 2, 2, 0);
        yf.Backward(Tensor.Ones(yf.Shape));
        Assert.Equal(new float[] { 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0 }, flat.Grad!.ToArray());
    }

    // A NaN wins its windows (as PyTorch's kernel: NaN in, NaN out), on the scalar border and the 8-wide interior alike,
    // and its windows' gradient goes to it; the other windows are unchanged.
    [Theory]
    [InlineData(5, 20)]   // interior: the 8-wide path
    [InlineData(5, 0)]    // the left border: one window at a time
    public void NaNWinsItsWindows(int row, int col)
    {
        var gen = new Generator(33);
        var x = NaiveRef.Rand(gen, 1, 2, 12, 40);
        var a = x.ToArray();
        a[row * 40 + col] = float.NaN;
        var xn = NaiveRef.V(Tensor.FromArray(a, 1, 2, 12, 40), "x");
        var y = Ops.MaxPool2d(xn, 3, 2, 1);
        var dy = Tensor.Ones(y.Shape);
        y.Backward(dy);
        a[row * 40 + col] = float.NegativeInfinity;
        var (yRef, _) = NaiveRef.MaxPool(Tensor.FromArray(a, 1, 2, 12, 40), 3, 2, 1, dy);
        var got = y.Data.ToArray();
        var want = yRef.ToArray();
        int covering = 0;
        for (int oh = 0; oh < y.Shape[2]; oh++)
            for (int ow = 0; ow < y.Shape[3]; ow++)
            {
                bool inside = Math.Abs(2 * oh - row) <= 1 && Math.Abs(2 * ow - col) <= 1;
                int i = oh * y.Shape[3] + ow;
                if (inside) { Assert.True(float.IsNaN(got[i]), $"output ({oh}, {ow}) should be NaN"); covering++; }
                else Assert.Equal(want[i], got[i]);
            }
        Assert.Equal(covering, xn.Grad!.ToArray()[row * 40 + col]);
    }

    [Fact]
    public void PaddingIsMinusInfinity()
    {
        var x = Tensor.Full(-5f, 1, 2, 3, 3);
        var y = Ops.MaxPool2d(new Variable(x), 3, 2, 1);
        Assert.All(y.Data.ToArray(), v => Assert.Equal(-5f, v));
    }

    [Theory]
    [InlineData(3, 2, 1)]
    [InlineData(2, 2, 0)]
    [InlineData(3, 1, 1)]
    public void GradCheck(int k, int s, int p)
    {
        // Distinct values spaced well beyond the finite-difference step, so no window has a near-tie.
        var gen = new Generator(33);
        int numel = 2 * 2 * 7 * 6;
        var perm = Enumerable.Range(0, numel).OrderBy(_ => gen.NextUInt64()).Select(i => i * 0.05f - 8f).ToArray();
        var x = NaiveRef.V(Tensor.FromArray(perm, 2, 2, 7, 6), "x");
        NaiveRef.AssertGrad(v => Ops.MaxPool2d(v[0], k, s, p), new[] { x }, $"max_pool k{k} s{s} p{p}", eps: 1e-2);
    }

    [Fact]
    public void GlobalAvgPoolMatchesNaiveAndGradChecks()
    {
        var gen = new Generator(34);
        var x = NaiveRef.RandPermuted(gen, 3, 4, 5, 7);
        var y = Ops.GlobalAvgPool(new Variable(x));
        Assert.Equal(new[] { 3, 4 }, y.Shape);
        var xa = x.ToArray();
        var yRef = new float[12];
        for (int i = 0; i < 12; i++) yRef[i] = (float)xa.Skip(i * 35).Take(35).Select(v => (double)v).Average();
        NaiveRef.AssertClose(yRef, y.Data, 1e-5, 1e-5, "gap");
        NaiveRef.AssertGrad(v => Ops.GlobalAvgPool(v[0]), new[] { NaiveRef.V(x, "x") }, "global_avg_pool");
    }

    [Fact]
    public void BadWindowsThrow()
    {
        var x = new Variable(Tensor.Zeros(1, 1, 4, 4));
        Assert.ThrowsAny<ArgumentException>(() => Ops.MaxPool2d(x, 2, 2, 2));
        Assert.ThrowsAny<ArgumentException>(() => Ops.MaxPool2d(x, 5, 1, 0));
        Assert.ThrowsAny<ArgumentException>(() => Ops.MaxPool2d(new Variable(Tensor.Zeros(4, 4)), 2, 2, 0));
    }
}
