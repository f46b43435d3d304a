using Sifa.Tensors;

namespace Sifa.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over (N, C, H, W) (any rank ≥ 2 with channels in dim 1). Training: normalise with the batch
    /// mean and biased variance over every dim but 1, and update <paramref name="runningMean"/> / <paramref name="runningVar"/>
    /// in place with <c>running = (1 − m)·running + m·stat</c> (unbiased variance). Eval: use the running statistics.
    /// Backward (training) uses only the saved mean and 1/σ: dx = w/σ·(dy − mean(dy) − x̂·mean(dy·x̂)).
    /// </summary>
    /// <param name="x">Input (N, C, ...).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="runningMean">Running mean buffer (C), updated in training mode.</param>
    /// <param name="runningVar">Running variance buffer (C), updated in training mode.</param>
    /// <param name="training">Use batch statistics (and update the running ones).</param>
    /// <param name="momentum">Running-average factor.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>The normalised value.</returns>
    public static Variable BatchNorm2d(Variable x, Variable? weight, Variable? bias, Tensor runningMean, Tensor runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f) =>
        BatchNorm2d(x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: false);

    /// <summary>
    /// relu(batch_norm(x)) fused, as a ResNet's conv–BN–ReLU uses it: the ReLU is applied to each channel plane while it is
    /// in cache, and the backward masks dy with [y &gt; 0] inside the batch-norm backward (no separate ReLU arrays or sweeps).
    /// Same values and gradients as <c>Relu(BatchNorm2d(...))</c>.
    /// </summary>
    /// <param name="x">Input (N, C, ...).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="runningMean">Running mean buffer (C), updated in training mode.</param>
    /// <param name="runningVar">Running variance buffer (C), updated in training mode.</param>
    /// <param name="training">Use batch statistics (and update the running ones).</param>
    /// <param name="momentum">Running-average factor.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>max(normalised value, 0).</returns>
    public static Variable BatchNormRelu2d(Variable x, Variable? weight, Variable? bias, Tensor runningMean, Tensor runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f) =>
        BatchNorm2d(x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: true);

    private static Variable BatchNorm2d(Variable x, Variable? weight, Variable? bias, Tensor runningMean, Tensor runningVar,
        bool training, float momentum, float eps, bool relu)
    {
        if (x.Rank < 2) throw new ArgumentException($"batch_norm: input must be (N, C, ...), got {Tensor.Fmt(x.Shape)}");
        int c = x.Shape[1];
        foreach (var (t, what) in new[] { (runningMean, "running_mean"), (runningVar, "running_var") })
            if (t.Rank != 1 || t.Shape[0] != c) throw new ArgumentException($"batch_norm: {what} {Tensor.Fmt(t.Shape)} must be ({c}) for input {Tensor.Fmt(x.Shape)}");
        Tensor xv = x.Data;
        Tensor? wv = weight?.Data;
        var backend = xv.Backend;
        Tensor y, mean, invStd;
        if (training)
        {
            if (x.Data.Numel / Math.Max(1, c) <= 1)
                throw new ArgumentException($"batch_norm: expected more than 1 value per channel when training, got input {Tensor.Fmt(x.Shape)}");
            (y, mean, invStd) = backend.BatchNormTrainForward(xv, wv, bias?.Data, runningMean, runningVar, momentum, eps, relu);
        }
        else
        {
            y = backend.BatchNormEvalForward(xv, wv, bias?.Data, runningMean, runningVar, eps, relu);
            if (!GradMode.IsEnabled || !(x.RequiresGrad || (weight?.RequiresGrad ?? false) || (bias?.RequiresGrad ?? false)))
                return new Variable(y);
            // Saved copies: the buffers may change before backward runs.
            mean = runningMean.Clone();
            invStd = Tensor.Ones(c).ToDevice(xv.Device) / (runningVar + eps).Sqrt();
        }
        Tensor? reluOut = relu ? y : null;
        return Variable.FromOp(y, relu ? "batch_norm_relu" : "batch_norm", Inputs(x, weight, bias), g =>
        {
            var (dx, dw, db) = backend.BatchNormBackward(g, xv, wv, mean, invStd, training,
                x.RequiresGrad, weight?.RequiresGrad ?? false, bias?.RequiresGrad ?? false, reluOut);
            return Grads(weight, bias, dx, dw, db);
        });
    }

    /// <summary>
    /// Layer normalisation over the last dim (biased variance): y = (x − μ)/√(σ² + eps)·w + b.
    /// Backward: dx = σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w; dw = Σ dy·x̂; db = Σ dy.
    /// </summary>
    /// <param name="x">Input (..., D).</param>
    /// <param name="weight">Optional scale (D).</param>
    /// <param name="bias">Optional shift (D).</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>The normalised value.</returns>
    public static Variable LayerNorm(Variable x, Variable? weight, Variable? bias, float eps = 1e-5f)
    {
        Tensor xv = x.Data;
        Tensor? wv = weight?.Data;
        var backend = xv.Backend;
        var (y, mean, invStd) = backend.LayerNormForward(xv, wv, bias?.Data, eps);
        return Variable.FromOp(y, "layer_norm", Inputs(x, weight, bias), g =>
        {
            var (dx, dw, db) = backend.LayerNormBackward(g, xv, wv, mean, invStd,
                x.RequiresGrad, weight?.RequiresGrad ?? false, bias?.RequiresGrad ?? false);
            return Grads(weight, bias, dx, dw, db);
        });
    }

    // The input list (x, weight?, bias?) without the nulls, and the matching gradient list.
    private static Variable[] Inputs(Variable x, Variable? weight, Variable? bias)
    {
        var l = new List<Variable>(3) { x };
        if (weight != null) l.Add(weight);
        if (bias != null) l.Add(bias);
        return l.ToArray();
    }

    private static Tensor?[] Grads(Variable? weight, Variable? bias, Tensor? dx, Tensor? dw, Tensor? db)
    {
        var l = new List<Tensor?>(3) { dx };
        if (weight != null) l.Add(dw);
        if (bias != null) l.Add(db);
        return l.ToArray();
    }
}
