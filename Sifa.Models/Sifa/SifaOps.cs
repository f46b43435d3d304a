using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>What the last frame of a clip attends to in the SIFA op.</summary>
public enum LastFrame
{
    /// <summary>The last frame attends to itself (the paper's choice; default).</summary>
    Self,
    /// <summary>The last frame gets no aggregation term (the official code's choice).</summary>
    None,
}

/// <summary>How the SIFA correlation weights are normalised over the k² neighbours.</summary>
public enum SifaNormalize
{
    /// <summary>Raw scaled correlations (default).</summary>
    None,
    /// <summary>Softmax over the neighbours.</summary>
    Softmax,
}

/// <summary>
/// The differentiable SIFA op and the deformable gather. Both are <see cref="CustomOp"/>s (SifaCustomOps.cs) with a
/// kernel per device, so the tensor library knows nothing of SIFA; the backward rule sits beside each forward.
/// </summary>
public static class SifaOps
{
    /// <summary>
    /// The SIFA op (paper section 3.1-3.2, SPEC section 3): each position of frame t queries a k×k neighbourhood
    /// of frame t+1 deformed by <paramref name="offsets"/>; Y_t = x_t + Σ_j W_j·K_j with W_j = (1/Cg)·⟨x_t, K_j⟩.
    /// Forward and backward are single fused kernels (SifaKernels.Cpu.cs); only the weights W are saved, the gathered
    /// keys are recomputed in backward.
    /// </summary>
    /// <param name="x">Frame features (N·T, C, H, W).</param>
    /// <param name="offsets">Sampling offsets (N·T, 2k², H, W): channel 2j is the row offset of neighbour j, 2j+1 the column offset.</param>
    /// <param name="frames">Frames per clip T.</param>
    /// <param name="k">Odd local size.</param>
    /// <param name="dilation">Grid dilation.</param>
    /// <param name="groups">Correlation groups.</param>
    /// <param name="lastFrame">What the last frame attends to.</param>
    /// <param name="normalize">Weight normalisation.</param>
    /// <returns>Y (N·T, C, H, W).</returns>
    public static Variable Sifa(Variable x, Variable offsets, int frames, int k = 3, int dilation = 1, int groups = 1,
        LastFrame lastFrame = LastFrame.Self, SifaNormalize normalize = SifaNormalize.None)
    {
        var shape = SifaShape.Of(x.Shape, offsets.Shape, frames, k, dilation, groups, lastFrame, normalize);
        Tensor xv = x.Data, ov = offsets.Data;
        var outs = new SifaForwardOp(shape).Run([xv, ov], x.Shape, shape.WeightsShape);
        Tensor y = outs[0], weights = outs[1];
        // Correlation and aggregation: 2·C·k² multiply-adds per position (the gather's interpolation is not counted).
        FlopCounter.Add(2L * shape.NT * shape.C * shape.P * shape.H * shape.W);
        return Variable.FromOp(y, "sifa", new[] { x, offsets }, g =>
        {
            var grads = new SifaBackwardOp(shape).Run([g, xv, ov, weights], xv.Shape, ov.Shape);
            return new[] { grads[0], grads[1] };
        });
    }

    /// <summary>
    /// Bilinear deformable gather (the sampling of deformable convolution): out[b, c, j, y, x] = bilinear(img[b, c],
    /// y + (a-r)·d + o[2j], x + (b'-r)·d + o[2j+1]) with zero outside the image; differentiable in img and offsets.
    /// </summary>
    /// <param name="img">Images (B, C, H, W).</param>
    /// <param name="offsets">Offsets (B, 2k², H, W).</param>
    /// <param name="k">Grid size.</param>
    /// <param name="dilation">Grid dilation.</param>
    /// <returns>Samples (B, C, k², H, W).</returns>
    public static Variable DeformGather(Variable img, Variable offsets, int k = 3, int dilation = 1)
    {
        var g = DeformGatherShape.Of(img.Shape, offsets.Shape, k, dilation);
        Tensor iv = img.Data, ov = offsets.Data;
        var y = new DeformGatherForwardOp(g).Run([iv, ov], g.OutputShape)[0];
        return Variable.FromOp(y, "deform_gather", new[] { img, offsets }, dy =>
        {
            var grads = new DeformGatherBackwardOp(g).Run([dy, iv, ov], iv.Shape, ov.Shape);
            return new[] { grads[0], grads[1] };
        });
    }
}
