using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Nn;

/// <summary>How a <see cref="Conv2d"/> initialises its weight.</summary>
public enum ConvInit
{
    /// <summary>PyTorch's default: Kaiming uniform with a = √5 (U(±1/√fan_in)), bias U(±1/√fan_in).</summary>
    KaimingUniform,
    /// <summary>torchvision ResNet's: Kaiming normal, fan-out, ReLU gain (std √(2/fan_out)); bias zero.</summary>
    KaimingNormalFanOut,
    /// <summary>All zeros (weight and bias), e.g. the SIFA offset conv that must start as the regular grid.</summary>
    Zeros,
}

/// <summary>2-D convolution (cross-correlation) with weight <c>(out, in/groups, k, k)</c> and optional bias <c>(out)</c>.</summary>
public sealed class Conv2d : Module, IForward
{
    /// <summary>Creates the layer and initialises it.</summary>
    /// <param name="gen">Generator for the initial values.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelSize">Square kernel size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups (both channel counts must divide by it).</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    /// <param name="init">Weight initialisation.</param>
    public Conv2d(Generator gen, int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0,
        int dilation = 1, int groups = 1, bool bias = true, ConvInit init = ConvInit.KaimingUniform)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0 || dilation <= 0 || groups <= 0)
            throw new ArgumentException($"invalid conv2d configuration in={inChannels} out={outChannels} k={kernelSize} stride={stride} padding={padding} dilation={dilation} groups={groups}");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"conv2d channels {inChannels} → {outChannels} do not divide by groups {groups}");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize;
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        var w = Tensor.Zeros(outChannels, inChannels / groups, kernelSize, kernelSize);
        int fanIn = Init.Fans(w.Shape).FanIn;
        Tensor? b = bias ? Tensor.Zeros(outChannels) : null;
        switch (init)
        {
            case ConvInit.KaimingUniform:
                Init.KaimingUniform(w, gen);
                if (b != null) Init.BiasUniform(b, fanIn, gen);
                break;
            case ConvInit.KaimingNormalFanOut:
                Init.KaimingNormalFanOut(w, gen);
                break;
            case ConvInit.Zeros:
                break;
            default: throw new ArgumentOutOfRangeException(nameof(init));
        }
        Weight = RegisterParameter("weight", w);
        if (b != null) Bias = RegisterParameter("bias", b);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Padding.</summary>
    public int Padding { get; }
    /// <summary>Dilation.</summary>
    public int Dilation { get; }
    /// <summary>Groups.</summary>
    public int Groups { get; }
    /// <summary>The weight <c>(out, in/groups, k, k)</c>.</summary>
    public Variable Weight { get; }
    /// <summary>The bias <c>(out)</c>, or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Convolves <c>(N, in, H, W)</c> into <c>(N, out, H', W')</c>.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => Ops.Conv2d(x, Weight, Bias, Geometry);

    /// <summary>Stride, padding, dilation and groups as the convolution ops take them.</summary>
    public Conv2dGeometry Geometry => Conv2dGeometry.Square(Stride, Padding, Dilation, Groups);
}

/// <summary>
/// Batch normalisation over (N, H, W) per channel, PyTorch keys <c>weight, bias, running_mean, running_var,
/// num_batches_tracked</c> (the last saved as I64). Training uses batch statistics and updates the running ones
/// (momentum 0.1, unbiased running variance) and counts batches; evaluation uses the running statistics.
/// </summary>
public sealed class BatchNorm2d : Module, IForward
{
    private readonly ModuleBuffer _runningMean, _runningVar, _numBatches;

    /// <summary>Creates the layer: weight 1, bias 0, running mean 0, running variance 1.</summary>
    /// <param name="numFeatures">Channels.</param>
    /// <param name="eps">Epsilon added to the variance.</param>
    /// <param name="momentum">Running-statistics momentum.</param>
    /// <param name="affine">Whether the layer has weight and bias.</param>
    public BatchNorm2d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true)
    {
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numFeatures));
            Bias = RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        _runningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
        _runningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
        _numBatches = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0f), dtype: "I64");
    }

    /// <summary>Channels.</summary>
    public int NumFeatures { get; }
    /// <summary>Epsilon.</summary>
    public float Eps { get; }
    /// <summary>Running-statistics momentum.</summary>
    public float Momentum { get; }
    /// <summary>Scale (C) or null.</summary>
    public Variable? Weight { get; }
    /// <summary>Shift (C) or null.</summary>
    public Variable? Bias { get; }
    /// <summary>Running mean (C).</summary>
    public Tensor RunningMean => _runningMean.Tensor;
    /// <summary>Running variance (C).</summary>
    public Tensor RunningVar => _runningVar.Tensor;
    /// <summary>Number of training batches seen (a 0-d tensor).</summary>
    public Tensor NumBatchesTracked => _numBatches.Tensor;

    /// <summary>When set, training-mode batch statistics span every rank of a data-parallel job
    /// (<see cref="SyncBatchNorm"/>); null (the default) normalises with this process's batch only.</summary>
    public IBatchStatisticsReducer? StatisticsReducer { get; set; }

    /// <summary>Normalises <c>(N, C, H, W)</c>.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => StatisticsReducer != null && IsTraining
        ? Counted(SyncBatchNorm.Forward(x, Weight, Bias, RunningMean, RunningVar, Momentum, Eps, relu: false, StatisticsReducer))
        : Counted(Ops.BatchNorm2d(x, Weight, Bias, RunningMean, RunningVar, IsTraining, Momentum, Eps));

    /// <summary>relu(Forward(x)) in one fused op (<see cref="Ops.BatchNormRelu2d"/>): the conv–BN–ReLU pattern of ResNets.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output, max(·, 0).</returns>
    public Variable ForwardRelu(Variable x) => StatisticsReducer != null && IsTraining
        ? Counted(SyncBatchNorm.Forward(x, Weight, Bias, RunningMean, RunningVar, Momentum, Eps, relu: true, StatisticsReducer))
        : Counted(Ops.BatchNormRelu2d(x, Weight, Bias, RunningMean, RunningVar, IsTraining, Momentum, Eps));

    /// <summary>
    /// next(relu(Forward(x))) in one op (<see cref="Ops.BatchNormReluConv2d"/>), the BN–ReLU–conv link of a ResNet
    /// bottleneck: the same values and gradients, with one activation fewer kept for the backward. With a statistics
    /// reducer (synchronised batch norm) it is the two layers one after the other.
    /// </summary>
    /// <param name="x">The input of this batch norm.</param>
    /// <param name="next">The convolution that takes the ReLU's output.</param>
    /// <returns>The convolution's output.</returns>
    public Variable ForwardReluConv(Variable x, Conv2d next) => StatisticsReducer != null && IsTraining
        ? next.Forward(ForwardRelu(x))
        : Counted(Ops.BatchNormReluConv2d(x, Weight, Bias, RunningMean, RunningVar, IsTraining, Momentum, Eps,
            next.Weight, next.Bias, next.Geometry));

    // A training forward counts one more batch in num_batches_tracked.
    private Variable Counted(Variable y)
    {
        if (IsTraining) _numBatches.Tensor.CopyFrom(_numBatches.Tensor + 1f);
        return y;
    }
}

/// <summary>Linear layer <c>y = x Wᵀ + b</c>, weight <c>(out, in)</c>, PyTorch's default initialisation (U(±1/√in) for both).</summary>
public sealed class Linear : Module, IForward
{
    /// <summary>Creates the layer.</summary>
    /// <param name="gen">Generator for the initial values.</param>
    /// <param name="inFeatures">Input size.</param>
    /// <param name="outFeatures">Output size.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    public Linear(Generator gen, int inFeatures, int outFeatures, bool bias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException($"invalid linear size {inFeatures} → {outFeatures}");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Init.KaimingUniform(Tensor.Zeros(outFeatures, inFeatures), gen));
        if (bias) Bias = RegisterParameter("bias", Init.BiasUniform(Tensor.Zeros(outFeatures), inFeatures, gen));
    }

    /// <summary>Input size.</summary>
    public int InFeatures { get; }
    /// <summary>Output size.</summary>
    public int OutFeatures { get; }
    /// <summary>The weight <c>(out, in)</c>.</summary>
    public Variable Weight { get; }
    /// <summary>The bias <c>(out)</c> or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Re-initialises as Swin/timm do: weight truncated normal (std 0.02), bias zero.</summary>
    /// <param name="gen">The generator.</param>
    /// <param name="std">Standard deviation.</param>
    /// <returns>This layer.</returns>
    public Linear InitTruncNormal(Generator gen, float std = 0.02f)
    {
        Init.TruncNormal(Weight.Data, gen, std);
        if (Bias != null) Init.Zeros(Bias.Data);
        return this;
    }

    /// <summary>Maps <c>(..., in)</c> to <c>(..., out)</c>.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => Ops.Linear(x, Weight, Bias);
}

/// <summary>Layer normalisation over the last dimension (biased variance), weight 1 and bias 0 at start.</summary>
public sealed class LayerNorm : Module, IForward
{
    /// <summary>Creates the layer.</summary>
    /// <param name="normalizedShape">Size of the last dimension.</param>
    /// <param name="eps">Epsilon.</param>
    /// <param name="elementwiseAffine">Whether the layer has weight and bias.</param>
    public LayerNorm(int normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true)
    {
        NormalizedShape = normalizedShape; Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(normalizedShape));
            Bias = RegisterParameter("bias", Tensor.Zeros(normalizedShape));
        }
    }

    /// <summary>Size of the normalised dimension.</summary>
    public int NormalizedShape { get; }
    /// <summary>Epsilon.</summary>
    public float Eps { get; }
    /// <summary>Scale or null.</summary>
    public Variable? Weight { get; }
    /// <summary>Shift or null.</summary>
    public Variable? Bias { get; }

    /// <summary>Normalises over the last dimension.</summary>
    /// <param name="x">The input <c>(..., C)</c>.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x)
    {
        if (x.Shape[^1] != NormalizedShape)
            throw new ArgumentException($"LayerNorm({NormalizedShape}): input {Tensor.Fmt(x.Shape)} has last dim {x.Shape[^1]}");
        return Ops.LayerNorm(x, Weight, Bias, Eps);
    }
}

/// <summary>A module that draws random masks from its own generator (dropout, drop path); trainers re-seed it for reproducible runs.</summary>
public interface IStochasticModule
{
    /// <summary>The generator the masks are drawn from.</summary>
    Generator Generator { get; }
}

/// <summary>
/// Base of the layers that zero random parts of their input in training and scale the rest by 1/(1-p), drawing the
/// masks from their own generator; identity in evaluation or when p = 0.
/// </summary>
public abstract class RandomDrop : Module, IForward, IStochasticModule
{
    /// <summary>Checks and keeps the drop probability and the mask generator.</summary>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="gen">Generator of the masks.</param>
    /// <param name="what">The layer's name for the error message.</param>
    protected RandomDrop(float p, Generator gen, string what)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"{what} probability {p} not in [0, 1)");
        P = p; Generator = gen;
    }

    /// <inheritdoc/>
    public Generator Generator { get; }

    /// <summary>Drop probability.</summary>
    public float P { get; }

    /// <summary>Applies the drop (identity in evaluation or when p = 0).</summary>
    public Variable Forward(Variable x) => !IsTraining || P == 0f ? x : Drop(x);

    /// <summary>Draws a mask and applies it (training, p &gt; 0).</summary>
    protected abstract Variable Drop(Variable x);
}

/// <summary>Inverted dropout in training (kept units scaled by 1/(1-p)); identity in evaluation.</summary>
public sealed class Dropout : RandomDrop
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="gen">Generator of the masks.</param>
    public Dropout(float p, Generator gen) : base(p, gen, "dropout") { }

    /// <inheritdoc/>
    protected override Variable Drop(Variable x) => Ops.Dropout(x, P, true, Generator);
}

/// <summary>Stochastic depth on a residual branch: per sample (dim 0), the branch is dropped with probability p and kept
/// ones scaled by 1/(1-p) in training; identity in evaluation.</summary>
public sealed class DropPath : RandomDrop
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="gen">Generator of the masks.</param>
    public DropPath(float p, Generator gen) : base(p, gen, "drop-path") { }

    /// <inheritdoc/>
    protected override Variable Drop(Variable x) => Ops.DropPath(x, P, true, Generator);
}

/// <summary>Identity (a placeholder where a layer is optional, e.g. no drop path).</summary>
public sealed class Identity : Module, IForward
{
    /// <summary>Returns the input.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The input.</returns>
    public Variable Forward(Variable x) => x;
}

/// <summary>max(x, 0).</summary>
public sealed class ReLU : Module, IForward
{
    /// <summary>Applies ReLU.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => Ops.Relu(x);
}

/// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)).</summary>
public sealed class GELU : Module, IForward
{
    /// <summary>Applies GELU.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => Ops.Gelu(x);
}

/// <summary>2-D max pooling (padding counts as -inf).</summary>
public sealed class MaxPool2d : Module, IForward
{
    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Stride (defaults to the window size).</param>
    /// <param name="padding">Padding.</param>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0)
    {
        KernelSize = kernelSize; Stride = stride ?? kernelSize; Padding = padding;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Padding.</summary>
    public int Padding { get; }

    /// <summary>Pools <c>(N, C, H, W)</c>.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => Ops.MaxPool2d(x, KernelSize, Stride, Padding);
}

/// <summary>Mean over the spatial dims of <c>(N, C, H, W)</c> (as <see cref="Ops.GlobalAvgPool"/> shapes it).</summary>
public sealed class GlobalAvgPool : Module, IForward
{
    /// <summary>Pools.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x) => Ops.GlobalAvgPool(x);
}

/// <summary>Mean cross-entropy over the batch with label smoothing ε: <c>-(1-ε) log p_y - ε/K Σ_k log p_k</c>.</summary>
public sealed class CrossEntropyLoss : Module
{
    /// <summary>Creates the loss.</summary>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    public CrossEntropyLoss(float labelSmoothing = 0f)
    {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing));
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Label smoothing ε.</summary>
    public float LabelSmoothing { get; }

    /// <summary>The scalar loss of logits <c>(N, K)</c> against class indices.</summary>
    /// <param name="logits">The logits.</param>
    /// <param name="targets">One class index in [0, K) per row.</param>
    /// <returns>The loss.</returns>
    public Variable Forward(Variable logits, int[] targets)
    {
        if (logits.Rank != 2 || logits.Shape[0] != targets.Length)
            throw new ArgumentException($"cross-entropy: logits {Tensor.Fmt(logits.Shape)} need shape (N, K) with N = {targets.Length} targets");
        int k = logits.Shape[1];
        foreach (var t in targets)
            if (t < 0 || t >= k) throw new ArgumentOutOfRangeException(nameof(targets), $"target {t} out of range for {k} classes");
        return Ops.CrossEntropy(logits, targets, LabelSmoothing);
    }
}
