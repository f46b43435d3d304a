using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

using Tensor = Sifa.Tensors.Tensor;

/// <summary>Naive loop references (double accumulation) and helpers shared by the op tests.</summary>
internal static class NaiveRef
{
    public static Tensor Rand(Generator g, params int[] shape) => Tensor.RandN(g, shape);

    /// <summary>A random tensor of <paramref name="shape"/> laid out non-contiguously (a permuted view of a transposed buffer).</summary>
    public static Tensor RandPermuted(Generator g, params int[] shape)
    {
        int r = shape.Length;
        if (r < 2) return RandSliced(g, shape);
        // store with the last two dims swapped, then view back
        var stored = (int[])shape.Clone();
        (stored[r - 1], stored[r - 2]) = (stored[r - 2], stored[r - 1]);
        var t = Tensor.RandN(g, stored).Transpose(r - 1, r - 2);
        return t;
    }

    /// <summary>The same values in a non-contiguous layout (last two dims stored transposed).</summary>
    public static Tensor NonContig(Tensor t)
    {
        if (t.Rank < 2) return Tensor.Cat(new[] { t.Unsqueeze(-1), t.Unsqueeze(-1) }, -1).Select(-1, 0);
        return t.Transpose(-1, -2).Contiguous().Transpose(-1, -2);
    }

    /// <summary>A random tensor of <paramref name="shape"/> that is every other element of a wider last dim.</summary>
    public static Tensor RandSliced(Generator g, params int[] shape)
    {
        var wide = (int[])shape.Clone();
        wide[^1] = shape[^1] * 2;
        return Tensor.RandN(g, wide).Slice(-1, 1, 2);
    }

    public static void AssertClose(float[] expected, Tensor actual, double atol = 1e-4, double rtol = 1e-4, string what = "")
    {
        var a = actual.ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs(a[i] - (double)expected[i]);
            if (!(err <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what} element {i}: got {a[i]:G7}, expected {expected[i]:G7} (|err| {err:G3})");
        }
    }

    public static void AssertClose(Tensor expected, Tensor actual, double atol = 1e-4, double rtol = 1e-4, string what = "")
    {
        Assert.Equal(expected.Shape, actual.Shape);
        AssertClose(expected.ToArray(), actual, atol, rtol, what);
    }

    public static void AssertGrad(Func<Variable[], Variable> f, Variable[] inputs, string what, double eps = 1e-2, double atol = 1e-3, double rtol = 1e-2)
    {
        var r = GradCheck.Check(f, inputs, eps, atol, rtol);
        Assert.True(r.Passed, $"{what}: gradient check failed (max error {r.MaxError:G3}) at {r.Where}");
    }

    public static Variable V(Tensor t, string name, bool grad = true) => new(t, requiresGrad: grad, name: name);

    // ---------------------------------------------------------------- convolution

    public static (int ho, int wo) ConvOut(int h, int w, int kh, int kw, int s, int p, int d) =>
        ((h + 2 * p - d * (kh - 1) - 1) / s + 1, (w + 2 * p - d * (kw - 1) - 1) / s + 1);

    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? b, int s, int p, int d, int groups)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int co = w.Shape[0], cg = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3], mg = co / groups;
        var (ho, wo) = ConvOut(h, wd, kh, kw, s, p, d);
        float[] xa = x.ToArray(), wa = w.ToArray(), ba = b?.ToArray() ?? new float[co];
        var y = new float[n * co * ho * wo];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < co; o++)
            {
                int grp = o / mg;
                for (int oh = 0; oh < ho; oh++)
                    for (int ow = 0; ow < wo; ow++)
                    {
                        double acc = ba[o];
                        for (int ci = 0; ci < cg; ci++)
                            for (int ki = 0; ki < kh; ki++)
                                for (int kj = 0; kj < kw; kj++)
                                {
                                    int ih = oh * s - p + ki * d, iw = ow * s - p + kj * d;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    acc += (double)xa[((i * c + grp * cg + ci) * h + ih) * wd + iw] * wa[((o * cg + ci) * kh + ki) * kw + kj];
                                }
                        y[((i * co + o) * ho + oh) * wo + ow] = (float)acc;
                    }
            }
        return Tensor.FromArray(y, n, co, ho, wo);
    }

    public static (Tensor dx, Tensor dw, Tensor db) Conv2dBackward(Tensor dy, Tensor x, Tensor w, int s, int p, int d, int groups)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int co = w.Shape[0], cg = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3], mg = co / groups;
        int ho = dy.Shape[2], wo = dy.Shape[3];
        float[] xa = x.ToArray(), wa = w.ToArray(), ga = dy.ToArray();
        var dx = new double[xa.Length]; var dw = new double[wa.Length]; var db = new double[co];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < co; o++)
            {
                int grp = o / mg;
                for (int oh = 0; oh < ho; oh++)
                    for (int ow = 0; ow < wo; ow++)
                    {
                        double g = ga[((i * co + o) * ho + oh) * wo + ow];
                        db[o] += g;
                        for (int ci = 0; ci < cg; ci++)
                            for (int ki = 0; ki < kh; ki++)
                                for (int kj = 0; kj < kw; kj++)
                                {
                                    int ih = oh * s - p + ki * d, iw = ow * s - p + kj * d;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    int xi = ((i * c + grp * cg + ci) * h + ih) * wd + iw, wi = ((o * cg + ci) * kh + ki) * kw + kj;
                                    dx[xi] += g * wa[wi];
                                    dw[wi] += g * xa[xi];
                                }
                    }
            }
        return (Tensor.FromArray(ToF(dx), x.Shape), Tensor.FromArray(ToF(dw), w.Shape), Tensor.FromArray(ToF(db), co));
    }

    public static float[] ToF(double[] a) => a.Select(v => (float)v).ToArray();

    // ---------------------------------------------------------------- pooling

    /// <summary>Max pooling with the first maximum (row-major window order) as argmax; returns y and dx for a given dy.</summary>
    public static (Tensor y, Tensor dx) MaxPool(Tensor x, int k, int s, int p, Tensor? dy)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        var xa = x.ToArray();
        var ga = dy?.ToArray();
        var y = new float[n * c * ho * wo];
        var dx = new float[xa.Length];
        for (int pl = 0; pl < n * c; pl++)
            for (int oh = 0; oh < ho; oh++)
                for (int ow = 0; ow < wo; ow++)
                {
                    float best = float.NegativeInfinity;
                    int bi = -1;
                    for (int ki = 0; ki < k; ki++)
                        for (int kj = 0; kj < k; kj++)
                        {
                            int ih = oh * s - p + ki, iw = ow * s - p + kj;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                            float v = xa[(pl * h + ih) * w + iw];
                            if (bi < 0 || v > best) { best = v; bi = (pl * h + ih) * w + iw; }
                        }
                    int oi = (pl * ho + oh) * wo + ow;
                    y[oi] = best;
                    if (ga != null) dx[bi] += ga[oi];
                }
        return (Tensor.FromArray(y, n, c, ho, wo), Tensor.FromArray(dx, x.Shape));
    }

    // ---------------------------------------------------------------- softmax

    public static Tensor Softmax(Tensor x, int dim, bool log)
    {
        dim = x.NormDim(dim);
        var xa = x.ToArray();
        int outer = 1, inner = 1, n = x.Shape[dim];
        for (int i = 0; i < dim; i++) outer *= x.Shape[i];
        for (int i = dim + 1; i < x.Rank; i++) inner *= x.Shape[i];
        var y = new float[xa.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity;
                for (int j = 0; j < n; j++) max = Math.Max(max, xa[(o * n + j) * inner + i]);
                double sum = 0;
                for (int j = 0; j < n; j++) sum += Math.Exp(xa[(o * n + j) * inner + i] - max);
                for (int j = 0; j < n; j++)
                {
                    double v = xa[(o * n + j) * inner + i] - max;
                    y[(o * n + j) * inner + i] = (float)(log ? v - Math.Log(sum) : Math.Exp(v) / sum);
                }
            }
        return Tensor.FromArray(y, x.Shape);
    }
}
