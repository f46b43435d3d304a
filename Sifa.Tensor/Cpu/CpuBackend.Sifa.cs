namespace Sifa.Tensors.Cpu;

// Dispatch of the SIFA op and the deformable gather to their fused kernels (Kernels/SifaKernels.cs, Kernels/DeformGatherKernels.cs).
public sealed partial class CpuBackend
{
    private static ReadOnlySpan<float> Dense(Tensor t)
    {
        var c = t.Contiguous();
        return Data(c).AsSpan(c.Offset, c.Numel);
    }

    /// <inheritdoc/>
    public (Tensor y, Tensor weights) SifaForward(Tensor x, Tensor offsets, SifaShape shape)
    {
        var y = Tensor.Empty(x.Shape);
        var w = Tensor.Empty(shape.NT, shape.Groups, shape.P, shape.H, shape.W);
        SifaKernels.Forward(Dense(x), Dense(offsets), y.AsSpan(), w.AsSpan(), shape);
        return (y, w);
    }

    /// <inheritdoc/>
    public (Tensor dx, Tensor dOffsets) SifaBackward(Tensor dy, Tensor x, Tensor offsets, Tensor weights, SifaShape shape)
    {
        var dx = Tensor.Empty(x.Shape);
        var doff = Tensor.Empty(offsets.Shape);
        SifaKernels.Backward(Dense(dy), Dense(x), Dense(offsets), Dense(weights), dx.AsSpan(), doff.AsSpan(), shape);
        return (dx, doff);
    }

    /// <inheritdoc/>
    public Tensor DeformGatherForward(Tensor img, Tensor offsets, int k, int dilation)
    {
        int b = img.Shape[0], c = img.Shape[1], h = img.Shape[2], w = img.Shape[3];
        var o = Tensor.Empty(b, c, k * k, h, w);
        DeformGatherKernels.Forward(Dense(img), Dense(offsets), o.AsSpan(), b, c, h, w, k, dilation);
        return o;
    }

    /// <inheritdoc/>
    public (Tensor dImg, Tensor dOffsets) DeformGatherBackward(Tensor dOut, Tensor img, Tensor offsets, int k, int dilation)
    {
        int b = img.Shape[0], c = img.Shape[1], h = img.Shape[2], w = img.Shape[3];
        var di = Tensor.Empty(img.Shape);
        var doff = Tensor.Empty(offsets.Shape);
        DeformGatherKernels.Backward(Dense(dOut), Dense(img), Dense(offsets), di.AsSpan(), doff.AsSpan(), b, c, h, w, k, dilation);
        return (di, doff);
    }
}
