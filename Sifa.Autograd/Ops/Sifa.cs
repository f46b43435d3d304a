using Sifa.Tensors;
using Sifa.Tensors.Cpu;

namespace Sifa.Autograd;

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

public static partial class Ops
{
    /// <summary>
    /// The SIFA op (paper section 3.1-3.2, SPEC section 3): each position of frame t queries a k×k neighbourhood
    /// of frame t+1 deformed by <paramref name="offsets"/>; Y_t = x_t + Σ_j W_j·K_j with W_j = (1/Cg)·⟨x_t, K_j⟩.
    /// Forward and backward are single fused kernels (<c>Sifa.Tensor/Cpu/Kernels/SifaKernels.cs</c>); only the
    /// weights W are saved, the gathered keys are recomputed in backward.
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
        if (x.Rank != 4) throw new ArgumentException($"SIFA: x must be (N·T, C, H, W), got {Tensor.Fmt(x.Shape)}");
        int nt = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var want = new[] { nt, 2 * k * k, h, w };
        if (!offsets.Shape.AsSpan().SequenceEqual(want))
            throw new ArgumentException($"SIFA: offsets must be {Tensor.Fmt(want)} for x {Tensor.Fmt(x.Shape)} and k = {k}, got {Tensor.Fmt(offsets.Shape)}");
        var shape = new SifaShape(nt, frames, c, h, w, k, dilation, groups, lastFrame == LastFrame.None, normalize == SifaNormalize.Softmax);
        shape.Validate();
        Tensor xv = x.Data.Contiguous(), ov = offsets.Data.Contiguous();
        var (y, weights) = xv.Backend.SifaForward(xv, ov, shape);
        // Correlation and aggregation: 2·C·k² multiply-adds per position (the gather's interpolation is not counted).
        FlopCounter.Add(2L * nt * c * k * k * h * w);
        return Variable.FromOp(y, "sifa", new[] { x, offsets }, g =>
        {
            var (dx, doff) = xv.Backend.SifaBackward(g, xv, ov, weights, shape);
            return new[] { dx, doff };
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
        Tensor iv = img.Data.Contiguous(), ov = offsets.Data.Contiguous();
        var y = iv.Backend.DeformGatherForward(iv, ov, k, dilation);
        return Variable.FromOp(y, "deform_gather", new[] { img, offsets }, g =>
        {
            var (di, doff) = iv.Backend.DeformGatherBackward(g, iv, ov, k, dilation);
            return new[] { di, doff };
        });
    }
}
