namespace Sifa.Tensors;

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

    /// <summary>Throws a clear error unless the window is valid and fits the input shape (N, C, H, W).</summary>
    internal void Validate(int[] x)
    {
        if (x.Length != 4) throw new ArgumentException($"max_pool2d: input must be (N, C, H, W), got {Tensor.Fmt(x)}");
        if (KernelH < 1 || KernelW < 1 || StrideH < 1 || StrideW < 1 || PadH < 0 || PadW < 0
            || PadH * 2 > KernelH || PadW * 2 > KernelW)
            throw new ArgumentException($"max_pool2d: invalid window {this} (padding must be at most half the kernel)");
        if (OutH(x[2]) < 1 || OutW(x[3]) < 1) throw new ArgumentException($"max_pool2d: window {this} does not fit the input {Tensor.Fmt(x)}");
        if ((long)x[2] * x[3] > 1 << 24) throw new ArgumentException($"max_pool2d: planes of {x[2]}x{x[3]} are too large for float indices");
    }

    /// <summary>Throws unless the output gradient, the saved argmax indices and the input shape belong together.</summary>
    internal static void ValidateGradient(int[] dy, int[] indices, int[] inputShape)
    {
        if (inputShape.Length != 4 || dy.Length != 4 || !dy.AsSpan().SequenceEqual(indices)
            || dy[0] != inputShape[0] || dy[1] != inputShape[1])
            throw new ArgumentException($"max_pool2d backward: gradient {Tensor.Fmt(dy)}, indices {Tensor.Fmt(indices)} and input {Tensor.Fmt(inputShape)} do not match");
    }
}

public partial interface IBackend
{
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
}
