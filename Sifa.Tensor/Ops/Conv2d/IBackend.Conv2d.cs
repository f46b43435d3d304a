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

    /// <summary>Throws a clear error unless <paramref name="dy"/> is the output gradient of this convolution of
    /// <paramref name="x"/> by <paramref name="w"/> (which must themselves fit, see <see cref="Validate"/>).</summary>
    internal void ValidateGradient(int[] dy, int[] x, int[] w)
    {
        Validate(x, w);
        int ho = OutH(x[2], w[2]), wo = OutW(x[3], w[3]);
        if (dy.Length != 4 || dy[0] != x[0] || dy[1] != w[0] || dy[2] != ho || dy[3] != wo)
            throw new ArgumentException($"conv2d backward: output gradient {Tensor.Fmt(dy)} should be ({x[0]}, {w[0]}, {ho}, {wo})");
    }
}

// Convolution with explicit forward and backward kernels. Every backend calls Conv2dGeometry's checks at its entry, and
// its kernels trust them.
public partial interface IBackend
{
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
}
