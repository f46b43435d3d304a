using Sifa.Tensors.Cpu; // SifaShape (owned by the lead) lives there for now

namespace Sifa.Tensors.Gpu;

// IBackend methods the GPU backend does not have yet: each throws NotSupportedException (no silent CPU fallback).
// When an op gets its GPU kernels in Ops/<Op>/<Op>.Gpu.cs, delete its block here.
public sealed partial class GpuBackend
{
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
