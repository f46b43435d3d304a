using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Batch normalisation on the GPU: statistics per channel (BatchNormGpuKernels), then one per-element pass.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) BatchNormTrainForward(Tensor x, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu = false)
    {
        var (n, c, s) = BatchNormChecks.TrainForward(x, weight, bias, runningMean, runningVar);
        var a = new BatchNormArgs { N = n, C = c, S = s };
        x = x.Contiguous();
        Tensor? w = weight?.Contiguous(), b = bias?.Contiguous(), rm = runningMean?.Contiguous(), rv = runningVar?.Contiguous();
        a.Eps = eps; a.Momentum = momentum; a.Relu = relu ? 1 : 0;
        a.HasWeight = w != null ? 1 : 0; a.HasBias = b != null ? 1 : 0;
        a.HasRunningMean = rm != null ? 1 : 0; a.HasRunningVar = rv != null ? 1 : 0;
        var y = Empty(x.Shape);
        var mean = Empty(c);
        var inv = Empty(c);
        var scaleShift = Empty(2 * c);
        var xv = View(x);
        GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, BatchNormArgs>(BatchNormGpuKernels.TrainStats)(Stream, ReduceConfig(c, (long)a.N * a.S),
            xv, ViewOr(w, xv), ViewOr(b, xv), ViewOr(rm, xv), ViewOr(rv, xv), View(mean), View(inv), View(scaleShift), a);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormArgs>(BatchNormGpuKernels.Apply)(
            Stream, x.Numel, xv, View(y), View(scaleShift), a);
        Release(scaleShift);
        WriteBack(rm, runningMean);
        WriteBack(rv, runningVar);
        return (y, mean, inv);
    }

    /// <inheritdoc/>
    public Tensor BatchNormEvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu = false)
    {
        var (n, c, s) = BatchNormChecks.EvalForward(x, weight, bias, mean, variance);
        return ApplyPerChannel(x, weight, bias, mean, variance, new BatchNormArgs { N = n, C = c, S = s, Eps = eps }, relu,
            BatchNormGpuKernels.EvalCoefficients);
    }

    /// <inheritdoc/>
    public Tensor BatchNormApply(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invStd, bool relu = false)
    {
        var (n, c, s) = BatchNormChecks.Apply(x, weight, bias, mean, invStd);
        return ApplyPerChannel(x, weight, bias, mean, invStd, new BatchNormArgs { N = n, C = c, S = s }, relu,
            BatchNormGpuKernels.SavedCoefficients);
    }

    // y = x·scale + shift per channel (then the ReLU), the scale and shift written by a per-channel kernel from the mean
    // and a second statistic (the variance in eval mode, σ⁻¹ for a training forward's saved statistics).
    private Tensor ApplyPerChannel(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor statistic, BatchNormArgs a, bool relu,
        Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormArgs> coefficients)
    {
        x = x.Contiguous();
        Tensor? w = weight?.Contiguous(), b = bias?.Contiguous();
        Tensor m = mean.Contiguous(), st = statistic.Contiguous();
        a.Relu = relu ? 1 : 0;
        a.HasWeight = w != null ? 1 : 0; a.HasBias = b != null ? 1 : 0;
        var y = Empty(x.Shape);
        if (x.Numel == 0) return y;
        var scaleShift = Empty(2 * a.C);
        var xv = View(x);
        Kernel(coefficients)(Stream, a.C, ViewOr(w, xv), ViewOr(b, xv), View(m), View(st), View(scaleShift), a);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormArgs>(BatchNormGpuKernels.Apply)(
            Stream, x.Numel, xv, View(y), View(scaleShift), a);
        Release(scaleShift);
        return y;
    }

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) BatchNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput = null)
    {
        var (n, c, s) = BatchNormChecks.Backward(dy, x, weight, mean, invStd, reluOutput);
        var a = new BatchNormArgs { N = n, C = c, S = s };
        x = x.Contiguous(); dy = dy.Contiguous(); reluOutput = reluOutput?.Contiguous();
        var w = weight?.Contiguous();
        Tensor m = mean.Contiguous(), inv = invStd.Contiguous();
        var dx = needInput ? Empty(x.Shape) : null;
        var dw = needWeight ? Empty(c) : null;
        var db = needBias ? Empty(c) : null;
        if (x.Numel == 0)
        {
            dw?.Fill_(0f);
            db?.Fill_(0f);
            return (dx, dw, db);
        }
        a.HasWeight = w != null ? 1 : 0;
        a.Relu = reluOutput != null ? 1 : 0;
        a.BatchStats = batchStats ? 1 : 0;
        a.NeedWeight = needWeight ? 1 : 0; a.NeedBias = needBias ? 1 : 0;
        a.Reduce = needWeight || needBias || (batchStats && needInput) ? 1 : 0;
        if (!needInput && a.Reduce == 0) return (dx, dw, db);
        var coef = Empty(3 * c);
        var xv = View(x);
        var yv = ViewOr(reluOutput, xv);
        GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormArgs>(BatchNormGpuKernels.BackwardStats)(
            Stream, ReduceConfig(c, a.Reduce != 0 ? (long)a.N * a.S : 1), View(dy), xv, yv, ViewOr(w, xv), View(m), View(inv),
            ViewOr(dw, xv), ViewOr(db, xv), View(coef), a);
        if (dx != null)
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, BatchNormArgs>(
                BatchNormGpuKernels.BackwardInput)(Stream, x.Numel, View(dy), xv, yv, View(coef), View(dx), a);
        Release(coef);
        return (dx, dw, db);
    }
}
