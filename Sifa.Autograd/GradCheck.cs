using Sifa.Tensors;

namespace Sifa.Autograd;

/// <summary>The outcome of a gradient check: the worst mismatch found.</summary>
/// <param name="MaxError">Largest |analytic - numeric| / (atol + rtol·|numeric|) over all checked elements (≤ 1 passes).</param>
/// <param name="Where">Which input and element had it, with both values.</param>
public sealed record GradCheckResult(double MaxError, string Where)
{
    /// <summary>True when every element was within tolerance.</summary>
    public bool Passed => MaxError <= 1.0;
}

/// <summary>
/// Finite-difference gradient checker. The scalar loss is L = Σ f(x)·dy for a fixed random dy, summed in
/// double; the numeric gradient is the central difference (L(x+ε) - L(x-ε)) / 2ε per element, compared with
/// what <see cref="Engine.Backward"/> puts in each input's Grad.
/// </summary>
public static class GradCheck
{
    /// <summary>Checks the analytic gradient of <paramref name="f"/> with respect to every input that requires grad.</summary>
    /// <param name="f">The function (may return any shape).</param>
    /// <param name="inputs">Its inputs; those with RequiresGrad are checked.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="seed">Seed of the random cotangent dy.</param>
    /// <param name="maxElements">At most this many elements per input are checked (chosen evenly).</param>
    /// <returns>The worst mismatch.</returns>
    public static GradCheckResult Check(Func<Variable[], Variable> f, Variable[] inputs, double eps = 1e-2,
        double atol = 1e-3, double rtol = 1e-2, ulong seed = 7, int maxElements = 400)
    {
        foreach (var v in inputs) v.Grad = null;
        var y = f(inputs);
        var dy = Tensor.RandN(new Generator(seed), y.Shape);
        var dyArr = dy.ToArray();
        y.Backward(dy);
        double Loss()
        {
            using var _ = GradMode.NoGrad();
            var o = f(inputs).Data.ToArray();
            double s = 0;
            for (int i = 0; i < o.Length; i++) s += (double)o[i] * dyArr[i];
            return s;
        }
        double worst = 0;
        string where = "nothing checked";
        for (int k = 0; k < inputs.Length; k++)
        {
            var v = inputs[k];
            if (!v.RequiresGrad) continue;
            var analytic = v.Grad?.ToArray() ?? new float[v.Data.Numel];
            // Perturb a private dense copy so views of shared storage are not disturbed.
            var data = v.Data.Contiguous().Clone();
            v.Data = data;
            var span = data.AsSpan();
            int n = span.Length, step = Math.Max(1, n / maxElements);
            for (int i = 0; i < n; i += step)
            {
                float orig = span[i];
                span[i] = (float)(orig + eps);
                double lp = Loss();
                span = data.AsSpan();
                span[i] = (float)(orig - eps);
                double lm = Loss();
                span = data.AsSpan();
                span[i] = orig;
                double num = (lp - lm) / (2 * eps);
                double err = Math.Abs(analytic[i] - num) / (atol + rtol * Math.Abs(num));
                if (err > worst || double.IsNaN(err))
                {
                    worst = double.IsNaN(err) ? double.PositiveInfinity : err;
                    where = $"input {k} ({v.Name ?? Tensor.Fmt(v.Shape)}) element {i}: analytic {analytic[i]:G6}, numeric {num:G6}";
                }
            }
        }
        return new GradCheckResult(worst, where);
    }
}
