using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Tensors.Elementwise;
using static Sifa.Cli.Bench.Comparer;

namespace Sifa.Cli.Bench;

/// <summary>
/// The <c>kernel</c> lines of <c>bench gpu</c>: every <see cref="IBackend"/> op family at medium sizes (ResNet-50 /
/// Swin activations at batch 8; with --quick a few elements, for CI on ilgpu-cpu), plus the SIFA op and the
/// deformable gather through <see cref="SifaOps"/>.
/// </summary>
internal sealed class OpChecks(Comparer c, bool quick)
{
    private int Q(int small, int medium) => quick ? small : medium;

    private static string S(params int[] shape) => Tensor.Fmt(shape).Replace(" ", "", StringComparison.Ordinal);

    public void RunAll()
    {
        Elementwise();
        Reductions();
        Softmax();
        Matmul();
        Conv();
        BatchNorm();
        LayerNorm();
        CrossEntropy();
        MaxPool();
        Indexing();
        Optim();
        SifaAndGather();
    }

    private void Elementwise()
    {
        int[] x = [Q(2, 64), Q(8, 256), Q(4, 32), Q(4, 32)];
        c.Kernel("map_exp", S(x), be => { var a = In(be, 1, x); return () => [be.Map(a, new ExpOp())]; });
        c.Kernel("map_gelu", S(x), be => { var a = In(be, 2, x); return () => [be.Map(a, new GeluOp())]; });
        c.Kernel("zip_mul", S(x), be => { var a = In(be, 3, x); var b = In(be, 4, x); return () => [be.Zip(a, b, new MulOp())]; });
        int[] bias = [x[1], 1, 1];
        c.Kernel("zip_add_broadcast", S(x) + "+" + S(bias), be =>
        {
            var a = In(be, 5, x); var b = In(be, 6, bias);
            return () => [be.Zip(a, b, new AddOp())];
        });
        int[] m = [Q(24, 2048), Q(40, 2048)];
        c.Kernel("copy_strided", S(m) + "T", be => { var a = In(be, 7, m); return () => [a.Transpose(0, 1).Contiguous()]; });
        c.Kernel("fill", S(x), be => { var a = Tensor.Empty(x, be.Device); return () => [a.Fill_(0.5f)]; });
        int[] mask = [Q(6, 64), Q(50, 65536)];
        c.Kernel("bernoulli_mask", S(mask), be => () => [be.BernoulliMask(mask, 0.8f, 1.25f, new Generator(11))]);
    }

    private void Reductions()
    {
        int[] x = [Q(6, 256), Q(10, 256), Q(18, 256)];
        c.Kernel("reduce_sum_dim1", S(x), be => { var a = In(be, 10, x); return () => [be.Reduce(a, [1], false, ReduceKind.Sum)]; });
        c.Kernel("reduce_max_last", S(x), be => { var a = In(be, 11, x); return () => [be.Reduce(a, [2], true, ReduceKind.Max)]; });
        c.Kernel("reduce_mean_all", S(x), be => { var a = In(be, 12, x); return () => [be.Reduce(a, [0, 1, 2], false, ReduceKind.Mean)]; });
        c.Kernel("reduce_min_dims02", S(x), be => { var a = In(be, 13, x); return () => [be.Reduce(a, [0, 2], false, ReduceKind.Min)]; });
        c.Kernel("argmax_last", S(x), be => { var a = In(be, 14, x); return () => [be.ArgMax(a, 2, false)]; });
    }

    private void Softmax()
    {
        int[] x = [Q(12, 8192), Q(30, 1000)];
        c.Kernel("softmax_fwd", S(x), be => { var a = In(be, 20, x, 3f); return () => [be.SoftmaxForward(a, 1, false)]; });
        c.Kernel("log_softmax_fwd", S(x), be => { var a = In(be, 21, x, 3f); return () => [be.SoftmaxForward(a, 1, true)]; });
        c.Kernel("softmax_bwd", S(x), be =>
        {
            var y = be.SoftmaxForward(In(be, 22, x, 3f), 1, false); var dy = In(be, 23, x);
            return () => [be.SoftmaxBackward(y, dy, 1, false)];
        });
        int[] attn = [Q(2, 8 * 64 * 3), Q(5, 49), Q(7, 49)]; // Swin window attention: (windows·heads, 49, 49), softmax over the last dim
        c.Kernel("softmax_fwd_lastdim", S(attn), be => { var a = In(be, 24, attn, 2f); return () => [be.SoftmaxForward(a, 2, false)]; });
    }

    private void Matmul()
    {
        int n = Q(16, 1024);
        int[] sq = [n, n];
        Func<IBackend, Func<Tensor?[]>> mm = be => { var a = In(be, 30, sq); var b = In(be, 31, sq); return () => [be.Matmul(a, b)]; };
        c.Kernel("matmul", S(n, n, n), mm);
        if (c.Device is IDeviceInfo info && info.VendorMatmul)
        {
            info.VendorMatmul = false; // the project's tiled kernel, against the CPU too
            try { c.Kernel("matmul_tiled", S(n, n, n), mm); }
            finally { info.VendorMatmul = true; }
        }
        int[] q = [Q(3, 8 * 64 * 3), Q(7, 49), Q(8, 32)]; // window attention: Q·Kᵀ with K read transposed in place
        c.Kernel("matmul_batched_qkT", S(q) + "x" + S(q) + "T", be =>
        {
            var a = In(be, 32, q); var b = In(be, 33, q);
            return () => [be.Matmul(a, b.Transpose(1, 2))];
        });
        int[] act = [Q(12, 8 * 3136), Q(8, 96)], w = [Q(8, 96), Q(12, 384)];
        c.Kernel("matmul_linear", S(act) + "x" + S(w), be => { var a = In(be, 34, act); var b = In(be, 35, w); return () => [be.Matmul(a, b)]; });
    }

    private void Conv()
    {
        int[] x = [Q(1, 8), Q(4, 64), Q(6, 56), Q(6, 56)], w = [Q(4, 64), Q(4, 64), 3, 3];
        var g = Conv2dGeometry.Square(1, 1);
        c.Kernel("conv2d_fwd", S(x) + "*" + S(w), be =>
        {
            var a = In(be, 40, x); var k = In(be, 41, w, 0.1f); var b = In(be, 42, [w[0]]);
            return () => [be.Conv2dForward(a, k, b, g)];
        });
        c.Kernel("conv2d_bwd", S(x) + "*" + S(w), be =>
        {
            var a = In(be, 43, x); var k = In(be, 44, w, 0.1f); var dy = In(be, 45, [x[0], w[0], x[2], x[3]]);
            return () => { var (dx, dw, db) = be.Conv2dBackward(dy, a, k, g, true, true, true); return [dx, dw, db]; };
        });
        // The stride-2 1×1 downsample of a ResNet stage.
        int[] xd = [Q(1, 8), Q(4, 256), Q(6, 56), Q(6, 56)], wd = [Q(8, 512), Q(4, 256), 1, 1];
        var gd = Conv2dGeometry.Square(2, 0);
        int ho = gd.OutH(xd[2], 1);
        c.Kernel("conv2d_1x1s2_fwd", S(xd) + "*" + S(wd), be =>
        {
            var a = In(be, 46, xd); var k = In(be, 47, wd, 0.1f);
            return () => [be.Conv2dForward(a, k, null, gd)];
        });
        c.Kernel("conv2d_1x1s2_bwd", S(xd) + "*" + S(wd), be =>
        {
            var a = In(be, 48, xd); var k = In(be, 49, wd, 0.1f); var dy = In(be, 50, [xd[0], wd[0], ho, ho]);
            return () => { var (dx, dw, _) = be.Conv2dBackward(dy, a, k, gd, true, true, false); return [dx, dw]; };
        });
    }

    private void BatchNorm()
    {
        int[] x = [Q(2, 8), Q(8, 256), Q(5, 56), Q(5, 56)];
        int ch = x[1];
        (Tensor w, Tensor b, Tensor rm, Tensor rv) Params(IBackend be) =>
            (Uniform(be, 60, [ch], 0.5f, 1.5f), In(be, 61, [ch], 0.1f), In(be, 62, [ch], 0.1f), Uniform(be, 63, [ch], 0.5f, 1.5f));
        c.Kernel("batchnorm_train_fwd_relu", S(x), be =>
        {
            var a = In(be, 64, x, 2f, 0.5f); var (w, b, rm, rv) = Params(be);
            return () => { var (y, mean, inv) = be.BatchNormTrainForward(a, w, b, rm, rv, 0.1f, 1e-5f, relu: true); return [y, mean, inv, rm, rv]; };
        });
        c.Kernel("batchnorm_eval_fwd", S(x), be =>
        {
            var a = In(be, 65, x, 2f, 0.5f); var (w, b, rm, rv) = Params(be);
            return () => [be.BatchNormEvalForward(a, w, b, rm, rv, 1e-5f)];
        });
        c.Kernel("batchnorm_train_bwd_relu", S(x), be =>
        {
            var a = In(be, 66, x, 2f, 0.5f); var (w, b, rm, rv) = Params(be); var dy = In(be, 67, x);
            var (y, mean, inv) = be.BatchNormTrainForward(a, w, b, rm, rv, 0.1f, 1e-5f, relu: true);
            return () => { var (dx, dw, db) = be.BatchNormBackward(dy, a, w, mean, inv, true, true, true, true, y); return [dx, dw, db]; };
        });
        c.Kernel("batchnorm_eval_bwd", S(x), be =>
        {
            var a = In(be, 68, x, 2f, 0.5f); var (w, _, rm, _) = Params(be); var dy = In(be, 69, x);
            var inv = Uniform(be, 169, [ch], 0.8f, 1.2f); // 1/√(running var + eps), any positive values
            return () => { var (dx, dw, db) = be.BatchNormBackward(dy, a, w, rm, inv, false, true, true, true); return [dx, dw, db]; };
        });
    }

    private void LayerNorm()
    {
        int[] x = [Q(24, 8 * 3136), Q(16, 96)];
        int d = x[1];
        c.Kernel("layernorm_fwd", S(x), be =>
        {
            var a = In(be, 70, x, 2f, 1f); var w = Uniform(be, 71, [d], 0.5f, 1.5f); var b = In(be, 72, [d], 0.1f);
            return () => { var (y, mean, inv) = be.LayerNormForward(a, w, b, 1e-5f); return [y, mean, inv]; };
        });
        c.Kernel("layernorm_bwd", S(x), be =>
        {
            var a = In(be, 73, x, 2f, 1f); var w = Uniform(be, 74, [d], 0.5f, 1.5f); var b = In(be, 75, [d], 0.1f); var dy = In(be, 76, x);
            var (_, mean, inv) = be.LayerNormForward(a, w, b, 1e-5f);
            return () => { var (dx, dw, db) = be.LayerNormBackward(dy, a, w, mean, inv, true, true, true); return [dx, dw, db]; };
        });
    }

    private void CrossEntropy()
    {
        int n = Q(6, 512), k = Q(10, 400);
        var targets = Enumerable.Range(0, n).Select(i => i * 7 % k).ToArray();
        c.Kernel("cross_entropy_fwd", S(n, k), be =>
        {
            var logits = In(be, 80, [n, k], 3f);
            return () => { var (loss, logp) = be.CrossEntropyForward(logits, targets, 0.1f); return [loss, logp]; };
        });
        c.Kernel("cross_entropy_bwd", S(n, k), be =>
        {
            var (_, logp) = be.CrossEntropyForward(In(be, 81, [n, k], 3f), targets, 0.1f);
            var g = Tensor.Scalar(0.7f).ToDevice(be.Device);
            return () => [be.CrossEntropyBackward(logp, targets, 0.1f, g)];
        });
    }

    private void MaxPool()
    {
        int[] x = [Q(2, 8), Q(4, 64), Q(9, 112), Q(9, 112)];
        var g = new Pool2dGeometry(3, 3, 2, 2, 1, 1);
        c.Kernel("maxpool_fwd", S(x), be =>
        {
            var a = In(be, 90, x);
            return () => { var (y, idx) = be.MaxPool2dForward(a, g); return [y, idx]; };
        });
        c.Kernel("maxpool_bwd", S(x), be =>
        {
            var (y, idx) = be.MaxPool2dForward(In(be, 91, x), g); var dy = In(be, 92, y.Shape);
            return () => [be.MaxPool2dBackward(dy, idx, x)];
        });
    }

    private void Indexing()
    {
        int[] part = [Q(2, 8), Q(3, 64), Q(5, 56), Q(5, 56)];
        c.Kernel("concat_dim1", "3x" + S(part), be =>
        {
            var ps = new[] { In(be, 100, part), In(be, 101, part), In(be, 102, part) };
            return () => [be.Concat(ps, 1)];
        });
        int[] tokens = [Q(2, 8), Q(8, 56), Q(8, 56), Q(4, 96)]; // Swin's cyclic shift
        c.Kernel("roll", S(tokens), be => { var a = In(be, 103, tokens); return () => [be.Roll(a, [-3, -3], [1, 2])]; });
        int rows = Q(20, 8192), cols = Q(6, 256), picked = Q(9, 4096);
        var gen = new Random(104);
        var index = Enumerable.Range(0, picked).Select(_ => gen.Next(rows)).ToArray();
        c.Kernel("index_select", S(rows, cols), be => { var a = In(be, 105, [rows, cols]); return () => [be.IndexSelect(a, 0, index)]; });
        c.Kernel("index_add", S(rows, cols), be =>
        {
            var dst = In(be, 106, [rows, cols]); var src = In(be, 107, [picked, cols]);
            return () => { be.IndexAdd(dst, 0, index, src); return [dst]; };
        });
        int n = Q(5, 1024), k = Q(10, 400), j = Q(3, 8);
        var gi = Tensor.FromArray(Enumerable.Range(0, n * j).Select(_ => (float)gen.Next(k)).ToArray(), n, j);
        c.Kernel("gather", S(n, k), be => { var a = In(be, 108, [n, k]); var ix = gi.ToDevice(be.Device); return () => [be.Gather(a, 1, ix)]; });
        c.Kernel("scatter_add", S(n, k), be =>
        {
            var src = In(be, 109, [n, j]); var ix = gi.ToDevice(be.Device);
            return () => [be.ScatterAdd([n, k], 1, ix, src)];
        });
    }

    private void Optim()
    {
        int n = Q(1000, 1 << 22);
        var sgd = SgdStepArgs.Create(0.01, 0.9, 0, 1e-4, nesterov: false, firstStep: false);
        c.Kernel("sgd_step", S(n), be =>
        {
            var p = In(be, 110, [n]); var g = In(be, 111, [n]); var m = In(be, 112, [n], 0.1f);
            return () => { be.SgdStep(p, g, m, sgd); return [p, m]; };
        });
        var adamw = AdamWStepArgs.Create(1e-3, 0.9, 0.999, 1e-8, 0.05, step: 3);
        c.Kernel("adamw_step", S(n), be =>
        {
            var p = In(be, 113, [n]); var g = In(be, 114, [n]); var m = In(be, 115, [n], 0.1f);
            var v = Uniform(be, 116, [n], 0f, 0.01f);
            return () => { be.AdamWStep(p, g, m, v, adamw); return [p, m, v]; };
        });
        c.Kernel("sum_of_squares", "3x" + S(n), be =>
        {
            var ts = new[] { In(be, 117, [n]), In(be, 118, [n / 2]), In(be, 119, [7]) };
            return () => [Tensor.FromArray([(float)be.SumOfSquares(ts)], 1)];
        });
        c.Kernel("scale_in_place", "2x" + S(n), be =>
        {
            var ts = new[] { In(be, 120, [n]), In(be, 121, [n / 3]) };
            return () => { be.ScaleInPlace(ts, 0.37f); return ts; };
        });
    }

    private void SifaAndGather()
    {
        // A res3 SIFA block at batch 2 clips × 8 frames: (N·T, C, H, W) with 2k² offset channels (k = 3).
        int nt = Q(4, 16), t = Q(2, 8), ch = Q(8, 128), hw = Q(6, 28);
        int[] x = [nt, ch, hw, hw], off = [nt, 18, hw, hw];
        string shape = S(x) + $",T={t}";
        c.Kernel("sifa_fwd", shape, be =>
        {
            var xv = new Variable(In(be, 130, x)); var ov = new Variable(In(be, 131, off, 1.5f));
            return () => [SifaOps.Sifa(xv, ov, t).Data];
        });
        c.Prepared("sifa_bwd", shape, be =>
        {
            var xt = In(be, 132, x); var ot = In(be, 133, off, 1.5f); var dy = In(be, 134, x);
            return () =>
            {
                var xv = new Variable(xt, requiresGrad: true); var ov = new Variable(ot, requiresGrad: true);
                var y = SifaOps.Sifa(xv, ov, t);
                return () => { y.Backward(dy); return [xv.Grad, ov.Grad]; };
            };
        });
        int b = Q(2, 16);
        int[] img = [b, ch, hw, hw], goff = [b, 18, hw, hw];
        c.Kernel("deform_gather_fwd", S(img), be =>
        {
            var iv = new Variable(In(be, 135, img)); var ov = new Variable(In(be, 136, goff, 1.5f));
            return () => [SifaOps.DeformGather(iv, ov).Data];
        });
        c.Prepared("deform_gather_bwd", S(img), be =>
        {
            var it = In(be, 137, img); var ot = In(be, 138, goff, 1.5f); var dy = In(be, 139, [b, ch, 9, hw, hw]);
            return () =>
            {
                var iv = new Variable(it, requiresGrad: true); var ov = new Variable(ot, requiresGrad: true);
                var y = SifaOps.DeformGather(iv, ov);
                return () => { y.Backward(dy); return [iv.Grad, ov.Grad]; };
            };
        });
    }
}
