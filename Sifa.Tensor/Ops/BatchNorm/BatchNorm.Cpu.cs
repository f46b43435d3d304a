using System.Numerics.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) BatchNormTrainForward(Tensor x, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu = false)
    {
        var (n, c, s) = BatchNormChecks.TrainForward(x, weight, bias, runningMean, runningVar);
        return BatchNormKernels.TrainForward(x, n, c, s, weight, bias, runningMean, runningVar, momentum, eps, relu);
    }

    /// <inheritdoc/>
    public Tensor BatchNormEvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu = false)
    {
        var (n, c, s) = BatchNormChecks.EvalForward(x, weight, bias, mean, variance);
        return BatchNormKernels.EvalForward(x, n, c, s, weight, bias, mean, variance, eps, relu);
    }

    /// <inheritdoc/>
    public Tensor BatchNormApply(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invStd, bool relu = false)
    {
        var (n, c, s) = BatchNormChecks.Apply(x, weight, bias, mean, invStd);
        return BatchNormKernels.Apply(x, n, c, s, weight, bias, mean, invStd, relu);
    }

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) BatchNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput = null)
    {
        var (n, c, s) = BatchNormChecks.Backward(dy, x, weight, mean, invStd, reluOutput);
        return BatchNormKernels.Backward(dy, x, n, c, s, weight, mean, invStd, batchStats, needInput, needWeight, needBias, reluOutput);
    }
}

// Batch norm per channel of (N, C, S...), parallel over channels. Statistics are two-pass (mean, then Σ(x − mean)²)
// with float SIMD sums over 1024-element chunks accumulated in double; the scalar maths is BatchNormMath.
internal static class BatchNormKernels
{
    // A per-channel parameter vector as (array, offset, stride); null stays null.
    private static (float[]? a, int off, int st) ParamVec(Tensor? t) =>
        t == null ? (null, 0, 0) : (CpuBackend.Data(t), t.Offset, t.Strides[0]);

    // Channel ch of an optional per-channel vector, or the value standing in for it (1 for a scale, 0 for a shift).
    private static double At((float[]? a, int off, int st) v, int ch, double missing) => v.a == null ? missing : v.a[v.off + ch * v.st];

    public static (Tensor Output, Tensor Mean, Tensor InvStd) TrainForward(Tensor x, int n, int c, int s, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu)
    {
        x = x.Contiguous();
        var wv = ParamVec(weight);
        var bv = ParamVec(bias);
        var (rma, rmo, rms) = ParamVec(runningMean);
        var (rva, rvo, rvs) = ParamVec(runningVar);
        long m = (long)n * s;
        var y = Tensor.Empty(x.Shape);
        var mean = Tensor.Empty(c);
        var inv = Tensor.Empty(c);
        float[] xd = CpuBackend.Data(x), yd = CpuBackend.Data(y), md = CpuBackend.Data(mean), id = CpuBackend.Data(inv);
        int xo = x.Offset;
        CpuParallel.For(c, ch =>
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += SimdMath.SumDouble(new ReadOnlySpan<float>(xd, xo + (i * c + ch) * s, s));
            double mu = sum / m;
            float muf = (float)mu;
            double sq = 0;
            for (int i = 0; i < n; i++) sq += SimdMath.SumSqDiffDouble(new ReadOnlySpan<float>(xd, xo + (i * c + ch) * s, s), muf);
            // Σ(x − μ)² = Σ(x − μf)² − m(μ − μf)²
            double var = Math.Max(0, sq / m - (mu - muf) * (mu - muf));
            double istd = BatchNormMath.InvStd(var, eps);
            md[ch] = muf;
            id[ch] = (float)istd;
            // Folded from the saved (float) statistics, so that BatchNormApply reproduces this output bit for bit.
            var (scale, shift) = BatchNormMath.FoldAffine(At(wv, ch, 1), At(bv, ch, 0), md[ch], id[ch]);
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var yp = new Span<float>(yd, at, s);
                SimdMath.ScaleShift(new ReadOnlySpan<float>(xd, xo + at, s), scale, shift, yp);
                if (relu) TensorPrimitives.Max(yp, 0f, yp); // the plane is still in L1: the fused ReLU costs no extra sweep
            }
            if (rma != null) rma[rmo + ch * rms] = BatchNormMath.RunningAverage(rma[rmo + ch * rms], momentum, mu);
            if (rva != null) rva[rvo + ch * rvs] = BatchNormMath.RunningAverage(rva[rvo + ch * rvs], momentum, BatchNormMath.Unbiased(var, m));
        }, (long)x.Numel * 3);
        return (y, mean, inv);
    }

    public static Tensor EvalForward(Tensor x, int n, int c, int s, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu)
    {
        var vv = ParamVec(variance);
        return ApplyFolded(x, n, c, s, weight, bias, mean, ch => BatchNormMath.InvStd(At(vv, ch, 1), eps), relu);
    }

    public static Tensor Apply(Tensor x, int n, int c, int s, Tensor? weight, Tensor? bias, Tensor mean, Tensor invStd, bool relu)
    {
        var iv = ParamVec(invStd);
        return ApplyFolded(x, n, c, s, weight, bias, mean, ch => At(iv, ch, 1), relu);
    }

    // y = x·scale + shift per (image, channel) plane, the scale and shift folded from the mean and σ⁻¹ of each channel.
    private static Tensor ApplyFolded(Tensor x, int n, int c, int s, Tensor? weight, Tensor? bias, Tensor mean,
        Func<int, double> invStdOf, bool relu)
    {
        x = x.Contiguous();
        var (wv, bv, mv) = (ParamVec(weight), ParamVec(bias), ParamVec(mean));
        var y = Tensor.Empty(x.Shape);
        float[] xd = CpuBackend.Data(x), yd = CpuBackend.Data(y);
        var scale = new float[c];
        var shift = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            (scale[ch], shift[ch]) = BatchNormMath.FoldAffine(At(wv, ch, 1), At(bv, ch, 0), At(mv, ch, 0), invStdOf(ch));
        }
        int xo = x.Offset;
        CpuParallel.For(n * c, r =>
        {
            int ch = r % c;
            var yp = new Span<float>(yd, r * s, s);
            SimdMath.ScaleShift(new ReadOnlySpan<float>(xd, xo + r * s, s), scale[ch], shift[ch], yp);
            if (relu) TensorPrimitives.Max(yp, 0f, yp);
        }, (long)x.Numel);
        return y;
    }

    public static (Tensor? Input, Tensor? Weight, Tensor? Bias) Backward(Tensor dy, Tensor x, int n, int c, int s, Tensor? weight,
        Tensor mean, Tensor invStd, bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput)
    {
        x = x.Contiguous(); dy = dy.Contiguous();
        var wv = ParamVec(weight);
        var (ma, mo, ms) = ParamVec(mean);
        var (ia, io, ist) = ParamVec(invStd);
        var dx = needInput ? Tensor.Empty(x.Shape) : null;
        var dw = needWeight ? Tensor.Empty(c) : null;
        var db = needBias ? Tensor.Empty(c) : null;
        float[] xd = CpuBackend.Data(x), gd = CpuBackend.Data(dy);
        float[]? dxd = dx == null ? null : CpuBackend.Data(dx), dwd = dw == null ? null : CpuBackend.Data(dw), dbd = db == null ? null : CpuBackend.Data(db);
        int xo = x.Offset, go = dy.Offset;
        // Fused ReLU: the masked gradient dy·[y > 0] is written plane by plane into dx (or a scratch tensor) and read
        // from there by both passes below; the final dx pass then overwrites it in place.
        float[]? yd = null, gmd = null;
        int yo = 0;
        if (reluOutput != null)
        {
            reluOutput = reluOutput.Contiguous();
            yd = CpuBackend.Data(reluOutput); yo = reluOutput.Offset;
            gmd = dxd ?? CpuBackend.Data(Tensor.Empty(x.Shape));
        }
        long m = (long)n * s;
        CpuParallel.For(c, ch =>
        {
            if (gmd != null)
                for (int i = 0; i < n; i++)
                {
                    int at = (i * c + ch) * s;
                    new ReluBackwardOp().ApplySpan(new ReadOnlySpan<float>(yd, yo + at, s), new ReadOnlySpan<float>(gd, go + at, s), new Span<float>(gmd, at, s));
                }
            float[] g = gmd ?? gd;
            int gOff = gmd != null ? 0 : go;
            float mu = ma![mo + ch * ms], istd = ia![io + ch * ist];
            double w = At(wv, ch, 1);
            double sdy = 0, sdyx = 0;
            if (needWeight || needBias || batchStats)
                for (int i = 0; i < n; i++)
                {
                    int at = (i * c + ch) * s;
                    SimdMath.SumDyAndDyXmuDouble(new ReadOnlySpan<float>(g, gOff + at, s), new ReadOnlySpan<float>(xd, xo + at, s), mu, out double a, out double b);
                    sdy += a; sdyx += b;
                }
            if (dbd != null) dbd[ch] = (float)sdy;
            if (dwd != null) dwd[ch] = (float)(sdyx * istd);
            if (dxd == null) return;
            var (k, c1, c0) = BatchNormMath.InputGradCoefficients(w, istd, mu, sdy, sdyx, m, batchStats);
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                SimdMath.Affine2(new ReadOnlySpan<float>(g, gOff + at, s), (float)k, new ReadOnlySpan<float>(xd, xo + at, s), (float)c1, (float)c0,
                    new Span<float>(dxd, at, s));
            }
        }, (long)x.Numel * 4);
        return (dx, dw, db);
    }
}
