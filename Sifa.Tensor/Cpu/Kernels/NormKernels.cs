using System.Numerics.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors.Cpu;

// Batch norm (per channel of (N, C, ...), parallel over channels) and layer norm (per row of the last dim,
// parallel over rows). Statistics are two-pass (mean, then Σ(x − mean)²) with float SIMD sums over 1024-element chunks
// accumulated in double.
public sealed partial class CpuBackend
{
    // A per-channel parameter vector as (array, offset, stride); null stays null.
    private static (float[]? a, int off, int st) ParamVec(Tensor? t, int c, string what, string op)
    {
        if (t == null) return (null, 0, 0);
        if (t.Rank != 1 || t.Shape[0] != c) throw new ArgumentException($"{op}: {what} {Tensor.Fmt(t.Shape)} must be ({c})");
        return (Data(t), t.Offset, t.Strides[0]);
    }

    private static void BnDims(Tensor x, string op, out int n, out int c, out int s)
    {
        if (x.Rank < 2) throw new ArgumentException($"{op}: input must be (N, C, ...), got {Tensor.Fmt(x.Shape)}");
        n = x.Shape[0]; c = x.Shape[1];
        s = 1;
        for (int d = 2; d < x.Rank; d++) s *= x.Shape[d];
    }

    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) BatchNormTrainForward(Tensor x, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu = false)
    {
        const string op = "batch_norm";
        BnDims(x, op, out int n, out int c, out int s);
        x = x.Contiguous();
        var (wa, wo, ws) = ParamVec(weight, c, "weight", op);
        var (ba, bo, bs) = ParamVec(bias, c, "bias", op);
        var (rma, rmo, rms) = ParamVec(runningMean, c, "running_mean", op);
        var (rva, rvo, rvs) = ParamVec(runningVar, c, "running_var", op);
        long m = (long)n * s;
        if (m == 0) throw new ArgumentException($"{op}: empty input {Tensor.Fmt(x.Shape)}");
        var y = Tensor.Empty(x.Shape);
        var mean = Tensor.Empty(c);
        var inv = Tensor.Empty(c);
        float[] xd = Data(x), yd = Data(y), md = Data(mean), id = Data(inv);
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
            double istd = 1.0 / Math.Sqrt(var + eps);
            md[ch] = muf;
            id[ch] = (float)istd;
            double w = wa == null ? 1.0 : wa[wo + ch * ws];
            double b = ba == null ? 0.0 : ba[bo + ch * bs];
            float scale = (float)(w * istd), shift = (float)(b - mu * w * istd);
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var yp = new Span<float>(yd, at, s);
                SimdMath.ScaleShift(new ReadOnlySpan<float>(xd, xo + at, s), scale, shift, yp);
                if (relu) TensorPrimitives.Max(yp, 0f, yp); // the plane is still in L1: the fused ReLU costs no extra sweep
            }
            if (rma != null) rma[rmo + ch * rms] = (float)((1 - momentum) * rma[rmo + ch * rms] + momentum * mu);
            if (rva != null)
            {
                double unbiased = m > 1 ? var * m / (m - 1) : var;
                rva[rvo + ch * rvs] = (float)((1 - momentum) * rva[rvo + ch * rvs] + momentum * unbiased);
            }
        }, (long)x.Numel * 3);
        return (y, mean, inv);
    }

    /// <inheritdoc/>
    public Tensor BatchNormEvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu = false)
    {
        const string op = "batch_norm";
        BnDims(x, op, out int n, out int c, out int s);
        x = x.Contiguous();
        var (wa, wo, ws) = ParamVec(weight, c, "weight", op);
        var (ba, bo, bs) = ParamVec(bias, c, "bias", op);
        var (ma, mo, ms) = ParamVec(mean, c, "running_mean", op);
        var (va, vo, vs) = ParamVec(variance, c, "running_var", op);
        var y = Tensor.Empty(x.Shape);
        float[] xd = Data(x), yd = Data(y);
        var scale = new float[c];
        var shift = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double istd = 1.0 / Math.Sqrt((double)va![vo + ch * vs] + eps);
            double w = wa == null ? 1.0 : wa[wo + ch * ws];
            double b = ba == null ? 0.0 : ba[bo + ch * bs];
            scale[ch] = (float)(w * istd);
            shift[ch] = (float)(b - ma![mo + ch * ms] * w * istd);
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

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) BatchNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput = null)
    {
        const string op = "batch_norm backward";
        BnDims(x, op, out int n, out int c, out int s);
        if (!dy.Shape.AsSpan().SequenceEqual(x.Shape))
            throw new ArgumentException($"{op}: gradient {Tensor.Fmt(dy.Shape)} differs from the input {Tensor.Fmt(x.Shape)}");
        x = x.Contiguous(); dy = dy.Contiguous();
        var (wa, wo, ws) = ParamVec(weight, c, "weight", op);
        var (ma, mo, ms) = ParamVec(mean, c, "mean", op);
        var (ia, io, ist) = ParamVec(invStd, c, "invstd", op);
        var dx = needInput ? Tensor.Empty(x.Shape) : null;
        var dw = needWeight ? Tensor.Empty(c) : null;
        var db = needBias ? Tensor.Empty(c) : null;
        float[] xd = Data(x), gd = Data(dy);
        float[]? dxd = dx == null ? null : Data(dx), dwd = dw == null ? null : Data(dw), dbd = db == null ? null : Data(db);
        int xo = x.Offset, go = dy.Offset;
        // Fused ReLU: the masked gradient dy·[y > 0] is written plane by plane into dx (or a scratch tensor) and read
        // from there by both passes below; the final dx pass then overwrites it in place.
        float[]? yd = null, gmd = null;
        int yo = 0;
        if (reluOutput != null)
        {
            if (!reluOutput.Shape.AsSpan().SequenceEqual(x.Shape))
                throw new ArgumentException($"{op}: ReLU output {Tensor.Fmt(reluOutput.Shape)} differs from the input {Tensor.Fmt(x.Shape)}");
            reluOutput = reluOutput.Contiguous();
            yd = Data(reluOutput); yo = reluOutput.Offset;
            gmd = dxd ?? Data(Tensor.Empty(x.Shape));
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
            double w = wa == null ? 1.0 : wa[wo + ch * ws];
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
            double k = w * istd;
            // training: dx = k·(dy − Σdy/m − (x − μ)·Σdy(x−μ)·istd²/m) = k·dy + c1·x + c0
            double c1 = 0, c0 = 0;
            if (batchStats)
            {
                double bcoef = sdyx * istd * istd / m;
                c1 = -k * bcoef;
                c0 = k * (bcoef * mu - sdy / m);
            }
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                SimdMath.Affine2(new ReadOnlySpan<float>(g, gOff + at, s), (float)k, new ReadOnlySpan<float>(xd, xo + at, s), (float)c1, (float)c0,
                    new Span<float>(dxd, at, s));
            }
        }, (long)x.Numel * 4);
        return (dx, dw, db);
    }

    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, float eps)
    {
        const string op = "layer_norm";
        if (x.Rank < 1) throw new ArgumentException($"{op}: input must have at least one dim");
        int d = x.Shape[^1];
        var wt = weight?.Contiguous(); var bt = bias?.Contiguous();
        if (wt != null && (wt.Rank != 1 || wt.Shape[0] != d)) throw new ArgumentException($"{op}: weight {Tensor.Fmt(wt.Shape)} must be ({d})");
        if (bt != null && (bt.Rank != 1 || bt.Shape[0] != d)) throw new ArgumentException($"{op}: bias {Tensor.Fmt(bt.Shape)} must be ({d})");
        x = x.Contiguous();
        int rows = d == 0 ? 0 : x.Numel / d;
        var y = Tensor.Empty(x.Shape);
        var mean = Tensor.Empty(x.Shape[..^1]);
        var inv = Tensor.Empty(x.Shape[..^1]);
        float[] xd = Data(x), yd = Data(y), md = Data(mean), id = Data(inv);
        float[]? wd = wt == null ? null : Data(wt), bd = bt == null ? null : Data(bt);
        int xo = x.Offset, wo = wt?.Offset ?? 0, bo = bt?.Offset ?? 0;
        CpuParallel.ForChunks(rows, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<float>(xd, xo + r * d, d);
                var yr = new Span<float>(yd, r * d, d);
                float mu = TensorPrimitives.Sum(xr) / d;
                float var = SimdMath.SumSqDiff(xr, mu) / d;
                float istd = 1f / MathF.Sqrt(var + eps);
                md[r] = mu; id[r] = istd;
                SimdMath.ScaleShift(xr, istd, -mu * istd, yr);
                if (wd != null && bd != null) TensorPrimitives.FusedMultiplyAdd(yr, new ReadOnlySpan<float>(wd, wo, d), new ReadOnlySpan<float>(bd, bo, d), yr);
                else if (wd != null) TensorPrimitives.Multiply(yr, new ReadOnlySpan<float>(wd, wo, d), yr);
                else if (bd != null) TensorPrimitives.Add(yr, new ReadOnlySpan<float>(bd, bo, d), yr);
            }
        }, (long)x.Numel * 3);
        return (y, mean, inv);
    }

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) LayerNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias)
    {
        const string op = "layer_norm backward";
        if (!dy.Shape.AsSpan().SequenceEqual(x.Shape))
            throw new ArgumentException($"{op}: gradient {Tensor.Fmt(dy.Shape)} differs from the input {Tensor.Fmt(x.Shape)}");
        int d = x.Shape[^1];
        x = x.Contiguous(); dy = dy.Contiguous(); mean = mean.Contiguous(); invStd = invStd.Contiguous();
        var wt = weight?.Contiguous();
        int rows = d == 0 ? 0 : x.Numel / d;
        var dx = needInput ? Tensor.Empty(x.Shape) : null;
        var dw = needWeight ? Tensor.Zeros(d) : null;
        var db = needBias ? Tensor.Zeros(d) : null;
        float[] xd = Data(x), gd = Data(dy), md = Data(mean), id = Data(invStd);
        float[]? wd = wt == null ? null : Data(wt), dxd = dx == null ? null : Data(dx);
        int xo = x.Offset, go = dy.Offset, mo = mean.Offset, io = invStd.Offset, wo = wt?.Offset ?? 0;
        bool needParams = needWeight || needBias;
        int parts = (long)x.Numel * 4 < 32_768 ? 1 : Math.Max(1, Math.Min(CpuParallel.Threads, rows));
        var dwAcc = new double[parts][];
        var dbAcc = new double[parts][];
        const int Block = 64; // rows summed in float before flushing into the double accumulators

        CpuParallel.For(parts, p =>
        {
            int r0 = (int)((long)rows * p / parts), r1 = (int)((long)rows * (p + 1) / parts);
            var xhat = new float[d];
            var g = needInput && wd != null ? new float[d] : null;
            float[]? bw = needWeight ? new float[d] : null, bb = needBias ? new float[d] : null;
            double[]? aw = needWeight ? new double[d] : null, ab = needBias ? new double[d] : null;
            for (int r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<float>(xd, xo + r * d, d);
                var gr = new ReadOnlySpan<float>(gd, go + r * d, d);
                float mu = md[mo + r], istd = id[io + r];
                SimdMath.ScaleShift(xr, istd, -mu * istd, xhat);
                if (bw != null) TensorPrimitives.FusedMultiplyAdd(gr, xhat, bw, bw);
                if (bb != null) TensorPrimitives.Add(gr, bb, bb);
                if (needParams && ((r - r0) % Block == Block - 1 || r == r1 - 1))
                {
                    if (bw != null) { for (int j = 0; j < d; j++) aw![j] += bw[j]; Array.Clear(bw); }
                    if (bb != null) { for (int j = 0; j < d; j++) ab![j] += bb[j]; Array.Clear(bb); }
                }
                if (dxd == null) continue;
                ReadOnlySpan<float> gw = gr;
                if (g != null) { TensorPrimitives.Multiply(gr, new ReadOnlySpan<float>(wd, wo, d), g); gw = g; }
                float mg = TensorPrimitives.Sum(gw) / d;
                float mgx = TensorPrimitives.Dot(gw, xhat) / d;
                // dx = istd·(g − mean(g) − x̂·mean(g·x̂))
                SimdMath.Affine2(gw, istd, xhat, -istd * mgx, -istd * mg, new Span<float>(dxd, r * d, d));
            }
            dwAcc[p] = aw!;
            dbAcc[p] = ab!;
        }, (long)x.Numel * 4);

        if (dw != null)
        {
            var s = Data(dw);
            for (int j = 0; j < d; j++) { double t = 0; for (int p = 0; p < parts; p++) t += dwAcc[p][j]; s[j] = (float)t; }
        }
        if (db != null)
        {
            var s = Data(db);
            for (int j = 0; j < d; j++) { double t = 0; for (int p = 0; p < parts; p++) t += dbAcc[p][j]; s[j] = (float)t; }
        }
        return (dx, dw, db);
    }
}
