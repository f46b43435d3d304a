using Sifa.Tensors.Cpu;

namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>Fused SIFA forward (SPEC section 3): y = x + A, and the normalised weights W saved for backward.</summary>
    /// <param name="x">Frames (NT, C, H, W), dense.</param>
    /// <param name="offsets">Offsets (NT, 2k², H, W), dense.</param>
    /// <param name="shape">Sizes and options.</param>
    /// <returns>y (NT, C, H, W) and W (NT, G, k², H, W).</returns>
    (Tensor y, Tensor weights) SifaForward(Tensor x, Tensor offsets, SifaShape shape);

    /// <summary>Fused SIFA backward: gradients of x (query and gathered frame) and of the offsets.</summary>
    /// <param name="dy">Output gradient.</param>
    /// <param name="x">Saved frames.</param>
    /// <param name="offsets">Saved offsets.</param>
    /// <param name="weights">Saved weights from the forward.</param>
    /// <param name="shape">Sizes and options.</param>
    /// <returns>dx and dOffsets.</returns>
    (Tensor dx, Tensor dOffsets) SifaBackward(Tensor dy, Tensor x, Tensor offsets, Tensor weights, SifaShape shape);

    /// <summary>Bilinear deformable gather: out (B, C, k², H, W) samples img at the k×k grid shifted by offsets (B, 2k², H, W).</summary>
    /// <param name="img">Images (B, C, H, W).</param>
    /// <param name="offsets">Offsets (B, 2k², H, W).</param>
    /// <param name="k">Grid size.</param>
    /// <param name="dilation">Grid dilation.</param>
    /// <returns>The samples.</returns>
    Tensor DeformGatherForward(Tensor img, Tensor offsets, int k, int dilation);

    /// <summary>Backward of <see cref="DeformGatherForward"/>.</summary>
    /// <param name="dOut">Gradient of the samples.</param>
    /// <param name="img">Saved images.</param>
    /// <param name="offsets">Saved offsets.</param>
    /// <param name="k">Grid size.</param>
    /// <param name="dilation">Grid dilation.</param>
    /// <returns>dImg and dOffsets.</returns>
    (Tensor dImg, Tensor dOffsets) DeformGatherBackward(Tensor dOut, Tensor img, Tensor offsets, int k, int dilation);
}
