namespace Sifa.Tensors;

/// <summary>
/// The geometry of a 2-D convolution (PyTorch semantics): stride, zero padding and dilation per spatial axis,
/// and the number of channel groups.
/// </summary>
/// <param name="StrideH">Vertical stride (≥ 1).</param>
/// <param name="StrideW">Horizontal stride (≥ 1).</param>
/// <param name="PadH">Zero rows added above and below (≥ 0).</param>
/// <param name="PadW">Zero columns added left and right (≥ 0).</param>
/// <param name="DilationH">Vertical spacing of the kernel taps (≥ 1).</param>
/// <param name="DilationW">Horizontal spacing of the kernel taps (≥ 1).</param>
/// <param name="Groups">Channel groups: input and output channels are split into this many independent groups.</param>
public readonly record struct Conv2dGeometry(int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups)
{
    /// <summary>The same stride, padding and dilation on both axes.</summary>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Padding.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups.</param>
    /// <returns>The geometry.</returns>
    public static Conv2dGeometry Square(int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        new(stride, stride, padding, padding, dilation, dilation, groups);

    /// <summary>Output height for an input height and kernel height: ⌊(h + 2p − d(k−1) − 1)/s⌋ + 1.</summary>
    /// <param name="h">Input height.</param>
    /// <param name="kh">Kernel height.</param>
    /// <returns>The output height (may be ≤ 0 for an invalid geometry).</returns>
    public int OutH(int h, int kh) => (h + 2 * PadH - DilationH * (kh - 1) - 1) / StrideH + 1;

    /// <summary>Output width for an input width and kernel width.</summary>
    /// <param name="w">Input width.</param>
    /// <param name="kw">Kernel width.</param>
    /// <returns>The output width (may be ≤ 0 for an invalid geometry).</returns>
    public int OutW(int w, int kw) => (w + 2 * PadW - DilationW * (kw - 1) - 1) / StrideW + 1;

    /// <summary>Throws a clear error unless the geometry is valid for the given input and weight shapes.</summary>
    /// <param name="x">Input shape (N, Cin, H, W).</param>
    /// <param name="w">Weight shape (Cout, Cin/groups, kh, kw).</param>
    /// <param name="bias">Optional bias shape (Cout).</param>
    public void Validate(int[] x, int[] w, int[]? bias = null)
    {
        if (x.Length != 4) throw new ArgumentException($"conv2d: input must be (N, C, H, W), got {Tensor.Fmt(x)}");
        if (w.Length != 4) throw new ArgumentException($"conv2d: weight must be (Cout, Cin/groups, kh, kw), got {Tensor.Fmt(w)}");
        if (StrideH < 1 || StrideW < 1 || PadH < 0 || PadW < 0 || DilationH < 1 || DilationW < 1 || Groups < 1)
            throw new ArgumentException($"conv2d: invalid geometry {this}");
        if (x[1] != w[1] * Groups)
            throw new ArgumentException($"conv2d: input {Tensor.Fmt(x)} has {x[1]} channels but weight {Tensor.Fmt(w)} with groups={Groups} expects {w[1] * Groups}");
        if (w[0] % Groups != 0)
            throw new ArgumentException($"conv2d: {w[0]} output channels are not divisible by groups={Groups}");
        if (bias != null && (bias.Length != 1 || bias[0] != w[0]))
            throw new ArgumentException($"conv2d: bias {Tensor.Fmt(bias)} must be ({w[0]})");
        if (OutH(x[2], w[2]) < 1 || OutW(x[3], w[3]) < 1)
            throw new ArgumentException($"conv2d: kernel {w[2]}x{w[3]} with {this} does not fit the input {Tensor.Fmt(x)}");
    }
}

/// <summary>The window of a 2-D pooling: kernel size, stride and padding per spatial axis (no dilation, floor mode).</summary>
/// <param name="KernelH">Window height.</param>
/// <param name="KernelW">Window width.</param>
/// <param name="StrideH">Vertical stride.</param>
/// <param name="StrideW">Horizontal stride.</param>
/// <param name="PadH">Padding rows (counted as −∞ for max pooling).</param>
/// <param name="PadW">Padding columns.</param>
public readonly record struct Pool2dGeometry(int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW)
{
    /// <summary>Output height: ⌊(h + 2p − k)/s⌋ + 1.</summary>
    /// <param name="h">Input height.</param>
    /// <returns>The output height.</returns>
    public int OutH(int h) => (h + 2 * PadH - KernelH) / StrideH + 1;

    /// <summary>Output width: ⌊(w + 2p − k)/s⌋ + 1.</summary>
    /// <param name="w">Input width.</param>
    /// <returns>The output width.</returns>
    public int OutW(int w) => (w + 2 * PadW - KernelW) / StrideW + 1;
}

// Neural-network primitives with explicit forward and backward kernels. A device backend implements this
// whole list; the differentiable ops in Sifa.Autograd only call these (plus the generic maths).
public partial interface IBackend
{
    // ------------------------------------------------------------------ convolution

    /// <summary>2-D cross-correlation, NCHW: y = conv(x, weight) + bias (PyTorch's conv2d).</summary>
    /// <param name="x">Input (N, Cin, H, W), any layout.</param>
    /// <param name="weight">Weight (Cout, Cin/groups, kh, kw).</param>
    /// <param name="bias">Optional bias (Cout).</param>
    /// <param name="geometry">Stride, padding, dilation, groups.</param>
    /// <returns>The dense output (N, Cout, Ho, Wo).</returns>
    Tensor Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry geometry);

    /// <summary>Gradients of <see cref="Conv2dForward"/> for the output gradient <paramref name="dy"/>.</summary>
    /// <param name="dy">Gradient of the output (N, Cout, Ho, Wo).</param>
    /// <param name="x">The forward input.</param>
    /// <param name="weight">The forward weight.</param>
    /// <param name="geometry">The forward geometry.</param>
    /// <param name="needInput">Compute dx.</param>
    /// <param name="needWeight">Compute dweight.</param>
    /// <param name="needBias">Compute dbias (the sum of dy over N, Ho, Wo).</param>
    /// <returns>dx, dweight and dbias (null where not requested).</returns>
    (Tensor? Input, Tensor? Weight, Tensor? Bias) Conv2dBackward(Tensor dy, Tensor x, Tensor weight, Conv2dGeometry geometry,
        bool needInput, bool needWeight, bool needBias);

    // ------------------------------------------------------------------ normalisation

    /// <summary>
    /// Batch normalisation with batch statistics over every dim but 1 (x is (N, C, ...)): y = (x − μ)·σ⁻¹·w + b with the
    /// biased variance. When given, the running statistics are updated in place:
    /// running = (1 − momentum)·running + momentum·stat, with the unbiased variance for <paramref name="runningVar"/>.
    /// Statistics are accumulated in double.
    /// </summary>
    /// <param name="x">Input (N, C, ...).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="runningMean">Optional running mean (C), updated in place.</param>
    /// <param name="runningVar">Optional running variance (C), updated in place.</param>
    /// <param name="momentum">Running-average factor.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="relu">Apply max(·, 0) to the output in the same pass (batch norm + ReLU fused).</param>
    /// <returns>The output, and the saved batch mean and inverse standard deviation 1/√(var + eps), each (C).</returns>
    (Tensor Output, Tensor Mean, Tensor InvStd) BatchNormTrainForward(Tensor x, Tensor? weight, Tensor? bias,
        Tensor? runningMean, Tensor? runningVar, float momentum, float eps, bool relu = false);

    /// <summary>Batch normalisation with fixed statistics: y = (x − mean)/√(var + eps)·w + b, per channel (dim 1).</summary>
    /// <param name="x">Input (N, C, ...).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="mean">The mean to use (C).</param>
    /// <param name="variance">The variance to use (C).</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="relu">Apply max(·, 0) to the output in the same pass.</param>
    /// <returns>The output.</returns>
    Tensor BatchNormEvalForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, bool relu = false);

    /// <summary>
    /// Gradients of batch normalisation. With <paramref name="batchStats"/> (training) the mean and variance depend on x
    /// and dx = w·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)); without (eval) dx = w·σ⁻¹·dy. dweight = Σ dy·x̂, dbias = Σ dy.
    /// </summary>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="x">The forward input.</param>
    /// <param name="weight">The forward scale, or null.</param>
    /// <param name="mean">The mean used in the forward (C).</param>
    /// <param name="invStd">The inverse standard deviation used in the forward (C).</param>
    /// <param name="batchStats">Whether the statistics were the batch's own (training mode).</param>
    /// <param name="needInput">Compute dx.</param>
    /// <param name="needWeight">Compute dweight.</param>
    /// <param name="needBias">Compute dbias.</param>
    /// <param name="reluOutput">For a fused batch norm + ReLU: its output y; dy is first masked to dy·[y &gt; 0].</param>
    /// <returns>dx, dweight, dbias (null where not requested).</returns>
    (Tensor? Input, Tensor? Weight, Tensor? Bias) BatchNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool batchStats, bool needInput, bool needWeight, bool needBias, Tensor? reluOutput = null);

    /// <summary>Layer normalisation over the last dim (biased variance): y = (x − μ)·σ⁻¹·w + b.</summary>
    /// <param name="x">Input (..., D).</param>
    /// <param name="weight">Optional scale (D).</param>
    /// <param name="bias">Optional shift (D).</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>The output, and the saved per-row mean and inverse standard deviation (shape x.Shape[..^1]).</returns>
    (Tensor Output, Tensor Mean, Tensor InvStd) LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, float eps);

    /// <summary>Gradients of <see cref="LayerNormForward"/>: dx = σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w; dweight = Σ dy·x̂; dbias = Σ dy.</summary>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="x">The forward input.</param>
    /// <param name="weight">The forward scale, or null.</param>
    /// <param name="mean">Saved per-row mean.</param>
    /// <param name="invStd">Saved per-row inverse standard deviation.</param>
    /// <param name="needInput">Compute dx.</param>
    /// <param name="needWeight">Compute dweight.</param>
    /// <param name="needBias">Compute dbias.</param>
    /// <returns>dx, dweight, dbias (null where not requested).</returns>
    (Tensor? Input, Tensor? Weight, Tensor? Bias) LayerNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias);

    // ------------------------------------------------------------------ softmax and loss

    /// <summary>Softmax (or log-softmax) along a dimension, max-subtracted.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">The (normalised) dimension.</param>
    /// <param name="log">Return log-softmax.</param>
    /// <returns>The dense result.</returns>
    Tensor SoftmaxForward(Tensor x, int dim, bool log);

    /// <summary>Gradient of <see cref="SoftmaxForward"/> from its output: softmax dx = y·(dy − Σ dy·y); log-softmax dx = dy − exp(y)·Σ dy.</summary>
    /// <param name="y">The forward output.</param>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="dim">The (normalised) dimension.</param>
    /// <param name="log">Whether the forward was log-softmax.</param>
    /// <returns>dx.</returns>
    Tensor SoftmaxBackward(Tensor y, Tensor dy, int dim, bool log);

    /// <summary>
    /// Mean cross-entropy with label smoothing ε over logits (N, K): mean over n of −(1−ε)·log p[n, t_n] − ε/K·Σ_k log p[n, k].
    /// Targets must be valid class indices (the caller checks).
    /// </summary>
    /// <param name="logits">Logits (N, K).</param>
    /// <param name="targets">N class indices in [0, K).</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <returns>The 0-d loss and the saved log-probabilities (N, K).</returns>
    (Tensor Loss, Tensor LogProbs) CrossEntropyForward(Tensor logits, int[] targets, float labelSmoothing);

    /// <summary>Gradient of the cross-entropy: dlogits = g/N·(softmax − (1−ε)·onehot(t) − ε/K).</summary>
    /// <param name="logProbs">The saved log-probabilities (N, K).</param>
    /// <param name="targets">The targets.</param>
    /// <param name="labelSmoothing">ε.</param>
    /// <param name="gradLoss">The 0-d (or one-element) gradient of the loss.</param>
    /// <returns>dlogits (N, K).</returns>
    Tensor CrossEntropyBackward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss);

    // ------------------------------------------------------------------ pooling

    /// <summary>
    /// 2-D max pooling over (N, C, H, W); padding counts as −∞. The argmax of each window (first maximum in row-major
    /// window order; a NaN wins) is returned as its flat index ih·W + iw within the input plane, stored as float.
    /// </summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="geometry">Window.</param>
    /// <returns>The output and the argmax indices, both (N, C, Ho, Wo).</returns>
    (Tensor Output, Tensor Indices) MaxPool2dForward(Tensor x, Pool2dGeometry geometry);

    /// <summary>Gradient of max pooling: each dy goes to its window's argmax (accumulating where windows overlap).</summary>
    /// <param name="dy">Gradient of the output (N, C, Ho, Wo).</param>
    /// <param name="indices">The argmax indices from the forward.</param>
    /// <param name="inputShape">The input shape (N, C, H, W).</param>
    /// <returns>dx.</returns>
    Tensor MaxPool2dBackward(Tensor dy, Tensor indices, int[] inputShape);

    // ------------------------------------------------------------------ dropout

    /// <summary>
    /// A random mask on this device whose elements are <paramref name="scale"/> with probability <paramref name="keepProb"/>
    /// and 0 otherwise. Drawn from <paramref name="generator"/> in row-major order, so a seed gives the same mask on every device.
    /// </summary>
    /// <param name="shape">The mask shape.</param>
    /// <param name="keepProb">Probability of keeping an element.</param>
    /// <param name="scale">The value of a kept element (1/keepProb for inverted dropout).</param>
    /// <param name="generator">The random generator.</param>
    /// <returns>The mask.</returns>
    Tensor BernoulliMask(int[] shape, float keepProb, float scale, Generator generator);
}
