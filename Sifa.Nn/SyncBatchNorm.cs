using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Nn;

/// <summary>
/// Sums per-channel batch statistics over the ranks of a data-parallel job, in place (every rank gets the sums).
/// Set on <see cref="BatchNorm2d.StatisticsReducer"/> for synchronised batch norm.
/// </summary>
public interface IBatchStatisticsReducer
{
    /// <summary>Replaces <paramref name="values"/> by their sum over all ranks (every rank calls it at the same point).</summary>
    void SumInPlace(Span<double> values);
}

/// <summary>
/// Batch norm whose batch statistics span every rank (synchronised batch norm), composed of tensor ops so it runs
/// on every device; only 2C+1 numbers per reduction go through the host. Forward: the global mean, then the global
/// biased variance Σ(x−μ)²/M (two passes, as the fused kernel), with the running statistics updated from them
/// (unbiased variance, M/(M−1)). Backward: the two per-channel sums Σdy and Σdy·x̂ of the global loss are reduced,
/// each rank's dy weighted by its share s = M_rank/M of the values, so the gradient equals that of one process
/// holding the whole batch; weight and bias gradients stay local (the gradient all-reduce averages them).
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>Training-mode batch norm over (N, C, ...) with statistics summed by <paramref name="reducer"/>.</summary>
    public static Variable Forward(Variable x, Variable? weight, Variable? bias, Tensor runningMean, Tensor runningVar,
        float momentum, float eps, bool relu, IBatchStatisticsReducer reducer)
    {
        var xv = x.Data;
        if (xv.Rank < 2) throw new ArgumentException($"batch norm needs (N, C, ...), got {Tensor.Fmt(xv.Shape)}");
        int c = xv.Shape[1];
        var dims = Enumerable.Range(0, xv.Rank).Where(d => d != 1).ToArray();
        var bshape = Enumerable.Range(0, xv.Rank).Select(d => d == 1 ? c : 1).ToArray();
        double local = xv.Numel / (double)c;

        var buf = new double[c + 1];
        Load(buf, xv.Sum(dims), 0);
        buf[c] = local;
        reducer.SumInPlace(buf);
        double m = buf[c];
        if (m <= 1) throw new ArgumentException($"batch norm in training needs more than one value per channel over all ranks, got input {Tensor.Fmt(xv.Shape)}");
        var mean = new double[c];
        for (int i = 0; i < c; i++) mean[i] = buf[i] / m;
        var xc = xv - Channel(mean, bshape, xv.Device);

        var vbuf = new double[c];
        Load(vbuf, (xc * xc).Sum(dims), 0);
        reducer.SumInPlace(vbuf);
        var inv = new double[c];
        var rm = runningMean.ToArray(); var rv = runningVar.ToArray();
        for (int i = 0; i < c; i++)
        {
            double var = vbuf[i] / m;
            inv[i] = 1.0 / Math.Sqrt(var + eps);
            rm[i] = (float)((1 - momentum) * rm[i] + momentum * mean[i]);
            rv[i] = (float)((1 - momentum) * rv[i] + momentum * var * m / (m - 1));
        }
        runningMean.CopyFrom(Tensor.FromArray(rm, c));
        runningVar.CopyFrom(Tensor.FromArray(rv, c));
        var invT = Channel(inv, bshape, xv.Device);
        var xhat = xc * invT;
        Tensor? wT = weight?.Data.Reshape(bshape);
        var y = wT != null ? xhat * wT : xhat;
        if (bias != null) y = y + bias.Data.Reshape(bshape);
        double share = local / m;

        var inputs = new List<Variable> { x };
        if (weight != null) inputs.Add(weight);
        if (bias != null) inputs.Add(bias);
        var bn = Variable.FromOp(y, "sync_batch_norm", inputs.ToArray(), g =>
        {
            var sumDy = g.Sum(dims);
            var sumDyXhat = (g * xhat).Sum(dims);
            var r = new double[2 * c];
            Load(r, sumDy, 0);
            Load(r, sumDyXhat, c);
            for (int i = 0; i < r.Length; i++) r[i] *= share;
            reducer.SumInPlace(r);
            // dx = w·σ⁻¹·(dy − Σdy/(M·s) − x̂·Σdy·x̂/(M·s)) with the sums over all ranks of s·dy.
            var a = new double[c]; var b = new double[c];
            for (int i = 0; i < c; i++) { a[i] = r[i] / (m * share); b[i] = r[c + i] / (m * share); }
            var dx = (g - Channel(a, bshape, xv.Device) - xhat * Channel(b, bshape, xv.Device)) * invT;
            if (wT != null) dx = dx * wT;
            var grads = new List<Tensor?> { x.RequiresGrad ? dx : null };
            if (weight != null) grads.Add(sumDyXhat);
            if (bias != null) grads.Add(sumDy);
            return grads.ToArray();
        });
        return relu ? Ops.Relu(bn) : bn;
    }

    private static void Load(double[] dst, Tensor sums, int at)
    {
        var s = sums.ToArray();
        for (int i = 0; i < s.Length; i++) dst[at + i] = s[i];
    }

    private static Tensor Channel(double[] v, int[] shape, Device device) =>
        Tensor.FromArray(v.Select(d => (float)d).ToArray(), shape).ToDevice(device);
}
