using Sifa.Tensors.Cpu; // SifaShape (owned by the lead) lives there for now

namespace Sifa.Tensors.Gpu;

// IBackend methods the GPU backend does not have yet: each throws NotSupportedException (no silent CPU fallback).
// When an op gets its GPU kernels in Ops/<Op>/<Op>.Gpu.cs, delete its block here.
public sealed partial class GpuBackend
{
    // ---- Conv2d
    /// <inheritdoc/>
    public Tensor Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry geometry) =>
        throw NotImplemented(nameof(Conv2dForward));
    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) Conv2dBackward(Tensor dy, Tensor x, Tensor weight, Conv2dGeometry geometry,
        bool needInput, bool needWeight, bool needBias) => throw NotImplemented(nameof(Conv2dBackward));

    // ---- BatchNorm
    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) BatchNormTrainForward(Tensor x, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu = false) =>
        throw NotImplemented(nameof(BatchNormTrainForward));
    /// <inheritdoc/>
    public Tensor BatchNormEvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu = false) =>
        throw NotImplemented(nameof(BatchNormEvalForward));
    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) BatchNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput = null) =>
        throw NotImplemented(nameof(BatchNormBackward));

    // ---- LayerNorm
    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, float eps) =>
        throw NotImplemented(nameof(LayerNormForward));
    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) LayerNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias) => throw NotImplemented(nameof(LayerNormBackward));

    // ---- CrossEntropy
    /// <inheritdoc/>
    public (Tensor Loss, Tensor LogProbs) CrossEntropyForward(Tensor logits, int[] targets, float labelSmoothing) =>
        throw NotImplemented(nameof(CrossEntropyForward));
    /// <inheritdoc/>
    public Tensor CrossEntropyBackward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss) =>
        throw NotImplemented(nameof(CrossEntropyBackward));

    // ---- MaxPool2d
    /// <inheritdoc/>
    public (Tensor Output, Tensor Indices) MaxPool2dForward(Tensor x, Pool2dGeometry geometry) =>
        throw NotImplemented(nameof(MaxPool2dForward));
    /// <inheritdoc/>
    public Tensor MaxPool2dBackward(Tensor dy, Tensor indices, int[] inputShape) =>
        throw NotImplemented(nameof(MaxPool2dBackward));

    // ---- Dropout
    /// <inheritdoc/>
    public Tensor BernoulliMask(int[] shape, float keepProb, float scale, Generator generator) =>
        throw NotImplemented(nameof(BernoulliMask));

    // ---- SIFA and the deformable gather
    /// <inheritdoc/>
    public (Tensor y, Tensor weights) SifaForward(Tensor x, Tensor offsets, SifaShape shape) =>
        throw NotImplemented(nameof(SifaForward));
    /// <inheritdoc/>
    public (Tensor dx, Tensor dOffsets) SifaBackward(Tensor dy, Tensor x, Tensor offsets, Tensor weights, SifaShape shape) =>
        throw NotImplemented(nameof(SifaBackward));
    /// <inheritdoc/>
    public Tensor DeformGatherForward(Tensor img, Tensor offsets, int k, int dilation) =>
        throw NotImplemented(nameof(DeformGatherForward));
    /// <inheritdoc/>
    public (Tensor dImg, Tensor dOffsets) DeformGatherBackward(Tensor dOut, Tensor img, Tensor offsets, int k, int dilation) =>
        throw NotImplemented(nameof(DeformGatherBackward));
}
