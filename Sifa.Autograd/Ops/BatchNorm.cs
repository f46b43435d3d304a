using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels, shape checks and per-channel maths: Sifa.Tensor/Ops/BatchNorm/.
public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over (N, C, H, W) (any rank ≥ 2 with channels in dim 1). Training: normalise with the batch
    /// mean and biased variance over every dim but 1, and update <paramref name="runningMean"/> / <paramref name="runningVar"/>
    /// in place with <c>running = (1 − m)·running + m·stat</c> (unbiased variance). Eval: use the running statistics.
    /// Backward (training) uses only the saved mean and 1/σ: <see cref="IBackend.BatchNormBackward"/>.
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
        Tensor xv = x.Data;
        Tensor? wv = weight?.Data;
        var backend = xv.Backend;
        Tensor y, mean, invStd;
        // The backend checks the shapes (BatchNormChecks), and that training has more than one value per channel.
        if (training) (y, mean, invStd) = backend.BatchNormTrainForward(xv, wv, bias?.Data, runningMean, runningVar, momentum, eps, relu);
        else
        {
            y = backend.BatchNormEvalForward(xv, wv, bias?.Data, runningMean, runningVar, eps, relu);
            if (!GradMode.IsEnabled || !(x.RequiresGrad || (weight?.RequiresGrad ?? false) || (bias?.RequiresGrad ?? false)))
                return new Variable(y);
            // Saved copies: the buffers may change before backward runs.
            mean = runningMean.Clone();
            invStd = Tensor.Ones(x.Shape[1]).ToDevice(xv.Device) / (runningVar + eps).Sqrt();
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
    /// conv2d(relu(batch_norm(x))), the BN–ReLU–conv link of a ResNet bottleneck, with the ReLU output recomputed in the
    /// backward instead of kept. Unfused, the convolution would keep relu(bn(x)) for its weight gradient while the batch
    /// norm keeps x: two activations of the same size. Here only x is kept (with the per-channel statistics), the ReLU
    /// output lives only while the convolution runs, and the backward rebuilds it bit for bit
    /// (<see cref="IBackend.BatchNormApply"/>) for one elementwise pass. Values, gradients and running statistics are
    /// exactly those of <c>Conv2d(BatchNormRelu2d(x, ...), ...)</c>; in eval mode, or with no gradient needed, it is that.
    /// </summary>
    /// <param name="x">Input of the batch norm (N, C, H, W).</param>
    /// <param name="bnWeight">Optional batch-norm scale (C).</param>
    /// <param name="bnBias">Optional batch-norm shift (C).</param>
    /// <param name="runningMean">Running mean buffer (C), updated in training mode.</param>
    /// <param name="runningVar">Running variance buffer (C), updated in training mode.</param>
    /// <param name="training">Use batch statistics (and update the running ones).</param>
    /// <param name="momentum">Running-average factor.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="weight">Convolution weight (Cout, C/groups, kh, kw).</param>
    /// <param name="bias">Optional convolution bias (Cout).</param>
    /// <param name="geometry">Stride, padding, dilation per axis and groups of the convolution.</param>
    /// <returns>The convolution's output.</returns>
    public static Variable BatchNormReluConv2d(Variable x, Variable? bnWeight, Variable? bnBias, Tensor runningMean, Tensor runningVar,
        bool training, float momentum, float eps, Variable weight, Variable? bias, Conv2dGeometry geometry)
    {
        bool bnGrad = x.RequiresGrad || (bnWeight?.RequiresGrad ?? false) || (bnBias?.RequiresGrad ?? false);
        if (!training || !GradMode.IsEnabled || !(bnGrad || weight.RequiresGrad || (bias?.RequiresGrad ?? false)))
            return Conv2d(BatchNormRelu2d(x, bnWeight, bnBias, runningMean, runningVar, training, momentum, eps), weight, bias, geometry);
        Tensor xv = x.Data, wv = weight.Data;
        Tensor? gv = bnWeight?.Data, bv = bnBias?.Data;
        var backend = xv.Backend;
        var (r, mean, invStd) = backend.BatchNormTrainForward(xv, gv, bv, runningMean, runningVar, momentum, eps, relu: true);
        var y = backend.Conv2dForward(r, wv, bias?.Data, geometry);
        CountConvFlops(y, wv);
        TensorScope.Release(r); // nothing else holds it: its buffer serves the next layer
        var inputs = new List<Variable>(Inputs(x, bnWeight, bnBias)) { weight };
        if (bias != null) inputs.Add(bias);
        return Variable.FromOp(y, "batch_norm_relu_conv2d", inputs.ToArray(), g =>
        {
            var rebuilt = backend.BatchNormApply(xv, gv, bv, mean, invStd, relu: true);
            var (dr, dw, db) = backend.Conv2dBackward(g, rebuilt, wv, geometry, bnGrad, weight.RequiresGrad, bias?.RequiresGrad ?? false);
            Tensor? dx = null, dgamma = null, dbeta = null;
            if (dr != null)
            {
                (dx, dgamma, dbeta) = backend.BatchNormBackward(dr, xv, gv, mean, invStd, batchStats: true,
                    x.RequiresGrad, bnWeight?.RequiresGrad ?? false, bnBias?.RequiresGrad ?? false, reluOutput: rebuilt);
                TensorScope.Release(dr);
            }
            TensorScope.Release(rebuilt);
            var grads = new List<Tensor?>(Grads(bnWeight, bnBias, dx, dgamma, dbeta)) { dw };
            if (bias != null) grads.Add(db);
            return grads.ToArray();
        });
    }
}
