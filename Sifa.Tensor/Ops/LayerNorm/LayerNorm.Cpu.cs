using System.Numerics.Tensors;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, float eps) =>
        LayerNormKernels.Forward(x, LayerNormChecks.Forward(x, weight, bias), weight, bias, eps);

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) LayerNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias)
    {
        LayerNormChecks.Backward(dy, x);
        return LayerNormKernels.Backward(dy, x, weight, mean, invStd, needInput, needWeight, needBias);
    }
}

// Layer norm per row of the last dim, parallel over rows; the scalar maths is LayerNormMath. Parameter gradients are
// summed in float over blocks of rows, then in double.
internal static class LayerNormKernels
{
    public static (Tensor Output, Tensor Mean, Tensor InvStd) Forward(Tensor x, int d, Tensor? weight, Tensor? bias, float eps)
    {
        var wt = weight?.Contiguous(); var bt = bias?.Contiguous();
        x = x.Contiguous();
        int rows = d == 0 ? 0 : x.Numel / d;
        var y = Tensor.Empty(x.Shape);
        var mean = Tensor.Empty(x.Shape[..^1]);
        var inv = Tensor.Empty(x.Shape[..^1]);
        float[] xd = CpuBackend.Data(x), yd = CpuBackend.Data(y), md = CpuBackend.Data(mean), id = CpuBackend.Data(inv);
        float[]? wd = wt == null ? null : CpuBackend.Data(wt), bd = bt == null ? null : CpuBackend.Data(bt);
        int xo = x.Offset, wo = wt?.Offset ?? 0, bo = bt?.Offset ?? 0;
        CpuParallel.ForChunks(rows, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var xr = new ReadOnlySpan<float>(xd, xo + r * d, d);
                var yr = new Span<float>(yd, r * d, d);
                float mu = TensorPrimitives.Sum(xr) / d;
                float var = SimdMath.SumSqDiff(xr, mu) / d;
                float istd = LayerNormMath.InvStd(var, eps);
                md[r] = mu; id[r] = istd;
                SimdMath.ScaleShift(xr, istd, -mu * istd, yr);
                if (wd != null && bd != null) TensorPrimitives.FusedMultiplyAdd(yr, new ReadOnlySpan<float>(wd, wo, d), new ReadOnlySpan<float>(bd, bo, d), yr);
                else if (wd != null) TensorPrimitives.Multiply(yr, new ReadOnlySpan<float>(wd, wo, d), yr);
                else if (bd != null) TensorPrimitives.Add(yr, new ReadOnlySpan<float>(bd, bo, d), yr);
            }
        }, (long)x.Numel * 3);
        return (y, mean, inv);
    }

    public static (Tensor? Input, Tensor? Weight, Tensor? Bias) Backward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias)
    {
        int d = x.Shape[^1];
        x = x.Contiguous(); dy = dy.Contiguous(); mean = mean.Contiguous(); invStd = invStd.Contiguous();
        var wt = weight?.Contiguous();
        int rows = d == 0 ? 0 : x.Numel / d;
        var dx = needInput ? Tensor.Empty(x.Shape) : null;
        var dw = needWeight ? Tensor.Zeros(d) : null;
        var db = needBias ? Tensor.Zeros(d) : null;
        float[] xd = CpuBackend.Data(x), gd = CpuBackend.Data(dy), md = CpuBackend.Data(mean), id = CpuBackend.Data(invStd);
        float[]? wd = wt == null ? null : CpuBackend.Data(wt), dxd = dx == null ? null : CpuBackend.Data(dx);
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
                var (cg, cx, c0) = LayerNormMath.InputGradCoefficients(istd, mg, mgx);
                SimdMath.Affine2(gw, cg, xhat, cx, c0, new Span<float>(dxd, r * d, d));
            }
            dwAcc[p] = aw!;
            dbAcc[p] = ab!;
        }, (long)x.Numel * 4);

        if (dw != null) SumParts(dwAcc, CpuBackend.Data(dw), d);
        if (db != null) SumParts(dbAcc, CpuBackend.Data(db), d);
        return (dx, dw, db);
    }

    // dst[j] = Σ_p parts[p][j], summed in double.
    private static void SumParts(double[][] parts, float[] dst, int d)
    {
        for (int j = 0; j < d; j++) { double t = 0; for (int p = 0; p < parts.Length; p++) t += parts[p][j]; dst[j] = (float)t; }
    }
}
