using Sifa.Autograd;
using Sifa.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tests.TensorTests;

using Ops = Sifa.Autograd.Ops;
using T = Sifa.Tensors.Tensor;

/// <summary>The tensor core the NN ops build on (views, broadcasting, reductions, matmul, indexing) against naive loops.</summary>
public class TensorCoreTests
{
    // ---------------------------------------------------------------- helpers

    private static int Flat(int[] shape, int[] idx)
    {
        int f = 0;
        for (int d = 0; d < shape.Length; d++) f = f * shape[d] + idx[d];
        return f;
    }

    private static IEnumerable<int[]> Indices(int[] shape)
    {
        int n = T.NumelOf(shape);
        var idx = new int[shape.Length];
        for (int i = 0; i < n; i++)
        {
            int r = i;
            for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = r % shape[d]; r /= shape[d]; }
            yield return (int[])idx.Clone();
        }
    }

    private static void Close(float[] expected, T actual, double tol = 1e-5)
    {
        var a = actual.ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - expected[i]) <= tol * (1 + Math.Abs(expected[i])), $"element {i}: got {a[i]}, expected {expected[i]}");
    }

    private static T Seq(params int[] shape)
    {
        var a = new float[T.NumelOf(shape)];
        for (int i = 0; i < a.Length; i++) a[i] = i;
        return T.FromArray(a, shape);
    }

    // ---------------------------------------------------------------- views

    [Fact]
    public void PermuteNarrowSliceSelectExpand()
    {
        var x = Seq(3, 4, 5);
        var xa = x.ToArray();
        var p = x.Permute(2, 0, 1);
        Assert.Equal(new[] { 5, 3, 4 }, p.Shape);
        Assert.False(p.IsContiguous);
        var exp = Indices(p.Shape).Select(i => xa[Flat(x.Shape, new[] { i[1], i[2], i[0] })]).ToArray();
        Close(exp, p);
        Close(exp, p.Contiguous());
        Assert.True(p.Contiguous().IsContiguous);

        var s = x.Slice(2, 1, 3); // columns 1, 4
        Assert.Equal(new[] { 3, 4, 2 }, s.Shape);
        Close(Indices(s.Shape).Select(i => xa[Flat(x.Shape, new[] { i[0], i[1], 1 + 3 * i[2] })]).ToArray(), s);

        var nr = x.Narrow(1, 1, 2).Select(0, 2);
        Assert.Equal(new[] { 2, 5 }, nr.Shape);
        Close(Indices(nr.Shape).Select(i => xa[Flat(x.Shape, new[] { 2, 1 + i[0], i[1] })]).ToArray(), nr);

        var e = T.FromArray(new float[] { 1, 2, 3 }, 3, 1).Expand(2, 3, 4);
        Assert.Equal(new[] { 2, 3, 4 }, e.Shape);
        Close(Indices(e.Shape).Select(i => (float)(i[1] + 1)).ToArray(), e);

        var u = p.Unsqueeze(1).Unsqueeze(-1);
        Assert.Equal(new[] { 5, 1, 3, 4, 1 }, u.Shape);
        Close(exp, u);
        Close(exp, u.Squeeze(1).Squeeze(-1));
    }

    [Fact]
    public void ViewReshapeFlattenOnNonContiguous()
    {
        var x = Seq(4, 6, 5);
        var xa = x.ToArray();
        // narrowing the first dim keeps the rest contiguous: merging dims 0 and 1 is a view
        var n = x.Narrow(0, 1, 2);
        var v = n.View(12, 5);
        Assert.Same(x.Storage, v.Storage);
        Close(Enumerable.Range(30, 60).Select(i => (float)i).ToArray(), v);
        // a transposed tensor cannot be flattened as a view, reshape copies
        var t = x.Transpose(1, 2);
        Assert.Throws<InvalidOperationException>(() => t.View(4, 30));
        var r = t.Reshape(4, 30);
        Close(Indices(new[] { 4, 5, 6 }).Select(i => xa[Flat(x.Shape, new[] { i[0], i[2], i[1] })]).ToArray(), r);
        Close(r.ToArray(), t.Flatten(1));
        // splitting a dim of a sliced view is a view
        var sl = x.Slice(1, 0, 2).View(4, 3, 1, 5);
        Close(Indices(sl.Shape).Select(i => xa[Flat(x.Shape, new[] { i[0], 2 * i[1], i[3] })]).ToArray(), sl);
        Assert.Equal(new[] { 4, 3, 5 }, x.Reshape(4, -1, 5).Narrow(1, 0, 3).Shape);
    }

    // ---------------------------------------------------------------- element-wise and broadcasting

    [Fact]
    public void BroadcastBinaryOpsOnStridedOperands()
    {
        var gen = new Generator(1);
        var a = T.RandN(gen, new[] { 5, 3 }).Transpose(0, 1).Unsqueeze(1); // (3, 1, 5), non-contiguous
        var b = T.RandN(gen, new[] { 4, 2 }).Slice(1, 0, 2);                // (4, 1), stride 2
        float[] aa = a.ToArray(), ba = b.ToArray();
        int[] shape = { 3, 4, 5 };
        var add = Indices(shape).Select(i => aa[i[0] * 5 + i[2]] + ba[i[1]]).ToArray();
        var mul = Indices(shape).Select(i => aa[i[0] * 5 + i[2]] * ba[i[1]]).ToArray();
        var div = Indices(shape).Select(i => ba[i[1]] / aa[i[0] * 5 + i[2]]).ToArray();
        Close(add, a + b);
        Close(mul, a * b);
        Close(div, b / a);
        Close(Indices(shape).Select(i => aa[i[0] * 5 + i[2]] - ba[i[1]]).ToArray(), a - b);
        Close(Indices(shape).Select(i => Math.Max(aa[i[0] * 5 + i[2]], ba[i[1]])).ToArray(), a.Maximum(b));
        // scalar-like and same-shape strided operands
        var s = T.FromArray(new float[] { 2f }, 1);
        Close(aa.Select(v => v * 2f).ToArray(), a * s);
        var p = T.RandN(gen, new[] { 7, 3 }).Transpose(0, 1);
        var q = T.RandN(gen, new[] { 3, 14 }).Slice(1, 1, 2);
        Close(p.ToArray().Zip(q.ToArray(), (x, y) => x + y).ToArray(), p + q);
        // in-place accumulate with broadcast
        var acc = T.Zeros(3, 4, 5);
        acc.AddInPlace(a).AddInPlace(b);
        Close(add, acc);
        Assert.Throws<ArgumentException>(() => T.Zeros(3, 4) + T.Zeros(2, 4));
    }

    [Fact]
    public void UnaryMapsOnStridedInput()
    {
        var gen = new Generator(2);
        var x = T.RandN(gen, new[] { 6, 5 }).Transpose(0, 1);
        var xa = x.ToArray();
        Close(xa.Select(MathF.Exp).ToArray(), x.Exp());
        Close(xa.Select(v => v > 0 ? v : 0).ToArray(), x.Relu());
        Close(xa.Select(v => 1 / (1 + MathF.Exp(-v))).ToArray(), x.Sigmoid());
        Close(xa.Select(v => v * 3 - 1).ToArray(), x * 3f - 1f);
        Close(xa.Select(v => (float)(0.5 * v * (1 + Erf(v / Math.Sqrt(2))))).ToArray(), x.Gelu(), 1e-6);
    }

    // Abramowitz–Stegun-free reference erf via series / continued fraction in double.
    private static double Erf(double x)
    {
        double s = Math.Sign(x), a = Math.Abs(x);
        if (a < 3)
        {
            double sum = 0, term = a;
            for (int n = 0; n < 200; n++)
            {
                sum += term / (2 * n + 1);
                term *= -a * a / (n + 1);
            }
            return s * 2 / Math.Sqrt(Math.PI) * sum;
        }
        return s * (1 - Math.Exp(-a * a) / (a * Math.Sqrt(Math.PI)) * (1 - 1 / (2 * a * a)));
    }

    // ---------------------------------------------------------------- reductions

    [Fact]
    public void ReductionsOverEveryDimSetOfAPermutedTensor()
    {
        var gen = new Generator(3);
        var x = T.RandN(gen, new[] { 5, 3, 4 }).Permute(1, 2, 0); // (3, 4, 5), non-contiguous
        var xa = x.ToArray();
        int[] shape = { 3, 4, 5 };
        var dimSets = new[] { new[] { 0 }, new[] { 1 }, new[] { 2 }, new[] { 0, 2 }, new[] { 1, 2 }, new[] { -1 }, new[] { 0, 1, 2 } };
        foreach (var dims in dimSets)
        {
            var nd = dims.Select(d => d < 0 ? d + 3 : d).ToArray();
            var outShape = Enumerable.Range(0, 3).Where(d => !nd.Contains(d)).Select(d => shape[d]).ToArray();
            var groups = new Dictionary<int, List<float>>();
            foreach (var i in Indices(shape))
            {
                var key = Flat(outShape, Enumerable.Range(0, 3).Where(d => !nd.Contains(d)).Select(d => i[d]).ToArray());
                if (!groups.TryGetValue(key, out var l)) groups[key] = l = new List<float>();
                l.Add(xa[Flat(shape, i)]);
            }
            int m = groups.Count;
            float[] Agg(Func<List<float>, double> f) => Enumerable.Range(0, m).Select(k => (float)f(groups[k])).ToArray();
            Close(Agg(l => l.Sum(v => (double)v)), x.Sum(dims));
            Close(Agg(l => l.Average(v => (double)v)), x.Mean(dims));
            Close(Agg(l => l.Max()), x.Max(dims));
            Close(Agg(l => l.Min()), x.Min(dims));
            Close(Agg(l => { double mu = l.Average(v => (double)v); return l.Sum(v => (v - mu) * (v - mu)) / (l.Count - 1); }), x.Var(dims), 1e-4);
            Close(Agg(l => { double mu = l.Average(v => (double)v); return l.Sum(v => (v - mu) * (v - mu)) / l.Count; }), x.Var(dims, unbiased: false), 1e-4);
            var kd = x.Sum(dims, keepDim: true);
            Assert.Equal(Enumerable.Range(0, 3).Select(d => nd.Contains(d) ? 1 : shape[d]).ToArray(), kd.Shape);
        }
        Assert.Equal(xa.Sum(v => (double)v), x.Sum().Item(), 4);
    }

    [Fact]
    public void LongRowSumsStayAccurate()
    {
        var a = Enumerable.Repeat(0.1f, 1_000_003).ToArray();
        Assert.InRange(T.FromArray(a).Sum().Item(), 100000.3 - 0.5, 100000.3 + 0.5);
    }

    [Fact]
    public void ArgMaxTakesTheFirstOfTies()
    {
        var x = T.FromArray(new float[] { 1, 3, 3, 2, 5, 5, 5, 0, 0, 0, 0, 0 }, 3, 4);
        Assert.Equal(new float[] { 1, 0, 0 }, x.ArgMax(1).ToArray());
        Assert.Equal(new float[] { 1, 1, 1, 0 }, x.ArgMax(0).ToArray());
        Assert.Equal(new[] { 3, 1 }, x.ArgMax(1, keepDim: true).Shape);
        Assert.Equal(new float[] { 1, 1, 1, 0 }, x.Transpose(0, 1).ArgMax(1).ToArray());
        Assert.Equal(new float[] { 1, 0, 0 }, x.Transpose(0, 1).ArgMax(0).ToArray());
    }

    // ---------------------------------------------------------------- matmul

    private static float[] NaiveMatmul(float[] a, float[] b, int m, int k, int n)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
                c[i * n + j] = (float)s;
            }
        return c;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 7, 3)]
    [InlineData(1, 13, 1)]
    [InlineData(17, 1, 19)]
    [InlineData(31, 37, 29)]
    [InlineData(67, 131, 71)]
    public void MatmulPlainTransposedAndStrided(int m, int k, int n)
    {
        var gen = new Generator((ulong)(m * 100 + k * 10 + n));
        var a = T.RandN(gen, new[] { m, k });
        var b = T.RandN(gen, new[] { k, n });
        var expected = NaiveMatmul(a.ToArray(), b.ToArray(), m, k, n);
        Close(expected, T.Matmul(a, b), 1e-4);
        // transposed storage for both operands
        var at = a.Transpose(0, 1).Contiguous().Transpose(0, 1);
        var bt = b.Transpose(0, 1).Contiguous().Transpose(0, 1);
        Close(expected, T.Matmul(at, bt), 1e-4);
        // stride-2 views (neither inner stride is 1)
        var aw = T.Zeros(m, 2 * k); aw.Slice(1, 0, 2).CopyFrom(a);
        var bw = T.Zeros(2 * k, n); bw.Slice(0, 1, 2).CopyFrom(b);
        Close(expected, T.Matmul(aw.Slice(1, 0, 2), bw.Slice(0, 1, 2)), 1e-4);
    }

    [Fact]
    public void BatchedMatmulBroadcastsAndVectors()
    {
        var gen = new Generator(4);
        var a = T.RandN(gen, new[] { 2, 1, 5, 7 });
        var b = T.RandN(gen, new[] { 3, 7, 4 });
        var c = T.Matmul(a, b);
        Assert.Equal(new[] { 2, 3, 5, 4 }, c.Shape);
        var aa = a.ToArray(); var ba = b.ToArray();
        var exp = new List<float>();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                exp.AddRange(NaiveMatmul(aa.Skip(i * 35).Take(35).ToArray(), ba.Skip(j * 28).Take(28).ToArray(), 5, 7, 4));
        Close(exp.ToArray(), c, 1e-4);
        // many small batches (batch-parallel path) with a permuted left operand
        var x = T.RandN(gen, new[] { 64, 9, 8 }).Transpose(1, 2); // (64, 8, 9)
        var y = T.RandN(gen, new[] { 9, 6 });
        var xy = T.Matmul(x, y);
        var xa = x.ToArray(); var ya = y.ToArray();
        Close(Enumerable.Range(0, 64).SelectMany(i => NaiveMatmul(xa.Skip(i * 72).Take(72).ToArray(), ya, 8, 9, 6)).ToArray(), xy, 1e-4);
        // 1-D operands
        var v = T.RandN(gen, new[] { 7 });
        var m = T.RandN(gen, new[] { 7, 3 });
        Close(NaiveMatmul(v.ToArray(), m.ToArray(), 1, 7, 3), T.Matmul(v, m), 1e-4);
        Close(NaiveMatmul(m.Transpose(0, 1).Contiguous().ToArray(), v.ToArray(), 3, 7, 1), T.Matmul(m.Transpose(0, 1), v), 1e-4);
        Assert.Throws<ArgumentException>(() => T.Matmul(T.Zeros(2, 3), T.Zeros(4, 2)));
    }

    // ---------------------------------------------------------------- indexing

    [Fact]
    public void CatRollIndexSelectGatherScatter()
    {
        var x = Seq(2, 3, 4);
        var xa = x.ToArray();
        var p = x.Transpose(1, 2); // (2, 4, 3)
        var cat = T.Cat(new[] { p, p.Narrow(1, 1, 2) }, 1);
        Assert.Equal(new[] { 2, 6, 3 }, cat.Shape);
        Close(Indices(cat.Shape).Select(i => xa[Flat(x.Shape, new[] { i[0], i[2], i[1] < 4 ? i[1] : i[1] - 3 })]).ToArray(), cat);
        var st = T.Stack(new[] { x, x }, 1);
        Assert.Equal(new[] { 2, 2, 3, 4 }, st.Shape);

        var r = p.Roll(new[] { 1, -2 }, new[] { 1, 2 });
        Close(Indices(r.Shape).Select(i => xa[Flat(x.Shape, new[] { i[0], ((i[2] + 2) % 3 + 3) % 3, ((i[1] - 1) % 4 + 4) % 4 })]).ToArray(), r);

        var sel = p.IndexSelect(1, new[] { 3, 0, 3 });
        Close(Indices(sel.Shape).Select(i => xa[Flat(x.Shape, new[] { i[0], i[2], new[] { 3, 0, 3 }[i[1]] })]).ToArray(), sel);

        var idx = T.FromArray(new float[] { 2, 0, 1, 1, 0, 0 }, 2, 3);
        var m = Seq(2, 5);
        var g = m.Gather(1, idx);
        Assert.Equal(new float[] { 2, 0, 1, 6, 5, 5 }, g.ToArray());
        var sc = m.Backend.ScatterAdd(new[] { 2, 5 }, 1, idx, T.Ones(2, 3));
        Assert.Equal(new float[] { 1, 1, 1, 0, 0, 2, 1, 0, 0, 0 }, sc.ToArray());
        var dst = T.Zeros(2, 4, 3);
        dst.Backend.IndexAdd(dst, 1, new[] { 3, 0, 3 }, T.Ones(2, 3, 3));
        Assert.Equal(2f, dst[0, 3, 1]);
        Assert.Equal(1f, dst[1, 0, 2]);
        Assert.Equal(0f, dst[1, 1, 2]);
    }

    // ---------------------------------------------------------------- autograd on the core ops

    [Fact]
    public void CoreOpGradientsCheck()
    {
        var gen = new Generator(5);
        Variable V(params int[] shape) => new(T.RandN(gen, shape), requiresGrad: true);
        var checks = new (string name, Func<Variable[], Variable> f, Variable[] ins)[]
        {
            ("matmul broadcast", v => Ops.Matmul(v[0], v[1]), new[] { V(2, 1, 3, 4), V(3, 4, 5) }),
            ("linear", v => Ops.Linear(v[0], v[1], v[2]), new[] { V(2, 3, 4), V(5, 4), V(5) }),
            ("mul broadcast", v => Ops.Mul(v[0], v[1]), new[] { V(3, 1, 4), V(5, 1) }),
            ("div", v => Ops.Div(v[0], Ops.Affine(Ops.Square(v[1]), 1f, 1f)), new[] { V(3, 4), V(4) }),
            ("sum/mean", v => Ops.Add(Ops.Sum(v[0], new[] { 1 }), Ops.Mean(v[0], new[] { 1 })), new[] { V(3, 4, 2) }),
            ("permute/slice/expand", v => Ops.Expand(Ops.Slice(Ops.Permute(v[0], 2, 0, 1), 1, 1, 2), 2, 4, 3, 5), new[] { V(3, 5, 4) }),
            ("cat/narrow/reshape", v => Ops.Reshape(Ops.Cat(new[] { v[0], Ops.Narrow(v[1], 0, 1, 2) }, 0), 4, -1), new[] { V(2, 6), V(4, 6) }),
            ("roll/index_select", v => Ops.IndexSelect(Ops.Roll(v[0], new[] { 2 }, new[] { 1 }), 1, new[] { 0, 3, 3 }), new[] { V(2, 5) }),
            ("gelu/sigmoid/relu", v => Ops.Add(Ops.Gelu(v[0]), Ops.Mul(Ops.Sigmoid(v[0]), Ops.Relu(Ops.Affine(v[0], 1f, 5f)))), new[] { V(4, 3) }),
        };
        foreach (var (name, f, ins) in checks)
        {
            var r = GradCheck.Check(f, ins);
            Assert.True(r.Passed, $"{name}: {r.Where} (error {r.MaxError:G3})");
        }
    }

    [Fact]
    public void LeafGradientsNeverShareStorage()
    {
        var a = new Variable(T.Ones(2, 3), requiresGrad: true);
        var b = new Variable(T.Ones(2, 3), requiresGrad: true);
        var c = new Variable(T.Ones(1, 3), requiresGrad: true);
        var seed = T.Full(2f, 2, 3);
        Ops.Add(Ops.Add(a, b), Ops.Expand(c, 2, 3)).Backward(seed);
        Assert.NotSame(a.Grad!.Storage, b.Grad!.Storage);
        Assert.NotSame(seed.Storage, a.Grad.Storage);
        Assert.NotSame(seed.Storage, b.Grad.Storage);
        a.Grad.AddInPlace(T.Ones(2, 3)); // an optimizer-style in-place update
        Assert.All(b.Grad.ToArray(), v => Assert.Equal(2f, v));
        Assert.All(seed.ToArray(), v => Assert.Equal(2f, v));
        Assert.All(c.Grad!.ToArray(), v => Assert.Equal(4f, v));
        // a cat split along dim 0 gives two contiguous views of one storage
        var p = new Variable(T.Ones(2, 3), requiresGrad: true);
        var q = new Variable(T.Ones(1, 3), requiresGrad: true);
        Ops.Cat(new[] { p, q }, 0).Backward(T.Ones(3, 3));
        Assert.NotSame(p.Grad!.Storage, q.Grad!.Storage);
    }

    [Fact]
    public void SimdVersionsOfElementwiseOpsAgreeWithTheirScalarMaths()
    {
        var gen = new Generator(6);
        // 37: four full vectors and a tail; positive inputs for log, sqrt and pow
        var a = T.RandN(gen, new[] { 37 }); var b = T.RandN(gen, new[] { 37 });
        float[] aa = a.ToArray(), ba = b.ToArray(), pos = aa.Select(v => MathF.Abs(v) + 0.1f).ToArray();
        void Zip<TOp>(TOp op) where TOp : struct, IBinaryOp, ISpanBinaryOp
        {
            var y = new float[37];
            op.ApplySpan(aa, ba, y);
            for (int i = 0; i < 37; i++) Assert.Equal(op.Apply(aa[i], ba[i]), y[i], 5);
        }
        void Map<TOp>(TOp op, float[] x) where TOp : struct, IUnaryOp, ISpanUnaryOp
        {
            var y = new float[37];
            op.ApplySpan(x, y);
            for (int i = 0; i < 37; i++) Assert.True(MathF.Abs(op.Apply(x[i]) - y[i]) <= 1e-5f * MathF.Max(1, MathF.Abs(y[i])), $"{typeof(TOp).Name}({x[i]})");
        }
        Zip(new AddOp()); Zip(new SubOp()); Zip(new MulOp()); Zip(new DivOp()); Zip(new MaxOp());
        Zip(new ReluBackwardOp()); Zip(new GeluBackwardOp()); Zip(new SigmoidBackwardOp());
        Map(new NegOp(), aa); Map(new ExpOp(), aa); Map(new LogOp(), pos); Map(new SqrtOp(), pos); Map(new AbsOp(), aa);
        Map(new TanhOp(), aa); Map(new ReluOp(), aa); Map(new SigmoidOp(), aa); Map(new SquareOp(), aa); Map(new GeluOp(), aa);
        Map(new AffineOp(1.5f, -2f), aa); Map(new PowOp(1.7f), pos);
    }

    [Fact]
    public void FloatErfMatchesTheDoubleReference()
    {
        // GELU's erf runs in float (as a GPU kernel does); compare with a high-accuracy double series.
        static double ErfRef(double x)
        {
            if (Math.Abs(x) > 4) return Math.Sign(x);
            double sum = 0, term = x;
            for (int n = 0; n < 200; n++) { sum += term / (2 * n + 1); term *= -x * x / (n + 1); }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        for (float x = -6f; x <= 6f; x += 0.01f)
            Assert.True(Math.Abs(GeluMath.Erf(x) - ErfRef(x)) < 5e-7, $"erf({x}) = {GeluMath.Erf(x)} vs {ErfRef(x)}");
    }
}
