using Sifa.Tensors;

namespace Sifa.Autograd;

// TEMPORARY: signatures of ops being added on another branch, so that Sifa.Nn compiles meanwhile.
// This whole file is deleted when that branch is merged.
public static partial class Ops
{
    private static Exception Pending(string op) => new NotImplementedException($"Ops.{op} is pending (another branch); this is a temporary stub");

    /// <summary>PENDING stub: 2-D convolution.</summary>
    /// <param name="x">Input (N, Cin, H, W).</param>
    /// <param name="weight">Weight (Cout, Cin/groups, kh, kw).</param>
    /// <param name="bias">Optional bias (Cout).</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Zero padding.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="groups">Groups.</param>
    /// <returns>The output.</returns>
    public static Variable Conv2d(Variable x, Variable weight, Variable? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) => throw Pending(nameof(Conv2d));

    /// <summary>PENDING stub: 2-D batch normalisation (updates running stats in place in training).</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="weight">Optional scale (C).</param>
    /// <param name="bias">Optional shift (C).</param>
    /// <param name="runningMean">Running mean (C).</param>
    /// <param name="runningVar">Running variance (C).</param>
    /// <param name="training">Batch statistics (true) or running statistics (false).</param>
    /// <param name="momentum">Running-stat momentum.</param>
    /// <param name="eps">Epsilon.</param>
    /// <returns>The output.</returns>
    public static Variable BatchNorm2d(Variable x, Variable? weight, Variable? bias, Tensor runningMean, Tensor runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f) => throw Pending(nameof(BatchNorm2d));

    /// <summary>PENDING stub: layer normalisation over the last dim.</summary>
    /// <param name="x">Input.</param>
    /// <param name="weight">Optional scale.</param>
    /// <param name="bias">Optional shift.</param>
    /// <param name="eps">Epsilon.</param>
    /// <returns>The output.</returns>
    public static Variable LayerNorm(Variable x, Variable? weight, Variable? bias, float eps = 1e-5f) => throw Pending(nameof(LayerNorm));

    /// <summary>PENDING stub: softmax.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <returns>The output.</returns>
    public static Variable Softmax(Variable x, int dim = -1) => throw Pending(nameof(Softmax));

    /// <summary>PENDING stub: log-softmax.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <returns>The output.</returns>
    public static Variable LogSoftmax(Variable x, int dim = -1) => throw Pending(nameof(LogSoftmax));

    /// <summary>PENDING stub: mean cross-entropy with label smoothing.</summary>
    /// <param name="logits">Logits (N, K).</param>
    /// <param name="targets">Class indices (N).</param>
    /// <param name="labelSmoothing">Label smoothing ε.</param>
    /// <returns>The scalar loss.</returns>
    public static Variable CrossEntropy(Variable logits, int[] targets, float labelSmoothing = 0f) => throw Pending(nameof(CrossEntropy));

    /// <summary>PENDING stub: 2-D max pooling.</summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="kernel">Window size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Padding (counts as -inf).</param>
    /// <returns>The output.</returns>
    public static Variable MaxPool2d(Variable x, int kernel, int stride, int padding) => throw Pending(nameof(MaxPool2d));

    /// <summary>PENDING stub: inverted dropout.</summary>
    /// <param name="x">Input.</param>
    /// <param name="p">Drop probability.</param>
    /// <param name="training">Identity when false.</param>
    /// <param name="gen">Generator.</param>
    /// <returns>The output.</returns>
    public static Variable Dropout(Variable x, float p, bool training, Generator gen) => throw Pending(nameof(Dropout));

    /// <summary>PENDING stub: per-sample stochastic depth.</summary>
    /// <param name="x">Input.</param>
    /// <param name="p">Drop probability.</param>
    /// <param name="training">Identity when false.</param>
    /// <param name="gen">Generator.</param>
    /// <returns>The output.</returns>
    public static Variable DropPath(Variable x, float p, bool training, Generator gen) => throw Pending(nameof(DropPath));

    /// <summary>PENDING stub: global average pooling (N, C, H, W) → (N, C).</summary>
    /// <param name="x">Input.</param>
    /// <returns>The output.</returns>
    public static Variable GlobalAvgPool(Variable x) => throw Pending(nameof(GlobalAvgPool));
}
