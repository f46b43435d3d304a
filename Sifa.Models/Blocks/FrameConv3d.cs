using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// A 3D convolution with temporal kernel 3 over each clip's frame sequence — PyTorch's <c>Conv3d(in, out, (3, kh, kw),
/// padding=(1, kh/2, kw/2), bias=False)</c> — run as one 2D conv over the frames [t−1, t, t+1] stacked on the channels
/// (zero frames beyond the clip's ends), so it needs no kernel of its own and runs on every device. Key: <c>weight</c>,
/// stored in the Conv3d layout (out, in, 3, kh, kw), zero-initialised.
/// </summary>
public sealed class FrameConv3d : Module
{
    /// <summary>Creates the conv, its weight zero.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="spatialKernel">Odd spatial kernel size (1 or 3).</param>
    public FrameConv3d(int inChannels, int outChannels, int spatialKernel)
    {
        if (spatialKernel < 1 || spatialKernel % 2 == 0) throw new ArgumentException($"spatial kernel must be odd and ≥ 1, got {spatialKernel}");
        Weight = RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels, 3, spatialKernel, spatialKernel));
    }

    /// <summary>The kernel (out, in, 3, kh, kw); index 0 of the temporal axis weighs frame t−1, 2 weighs t+1.</summary>
    public Variable Weight { get; }

    /// <summary>The conv of frames (N·T, in, H, W) → (N·T, out, H, W).</summary>
    /// <param name="x">Frames, clip-major.</param>
    /// <param name="frames">Frames per clip T.</param>
    public Variable Forward(Variable x, int frames)
    {
        int o = Weight.Shape[0], c = Weight.Shape[1], kh = Weight.Shape[3], kw = Weight.Shape[4];
        var stacked = Ops.Cat(new[] { TemporalBlocks.ShiftFrames(x, frames, -1), x, TemporalBlocks.ShiftFrames(x, frames, +1) }, 1);
        // (o, c, dt, kh, kw) → (o, dt·c, kh, kw): input channel dt·C + c of the stack is channel c of frame t+dt−1.
        var w = Ops.Reshape(Ops.Contiguous(Ops.Permute(Weight, 0, 2, 1, 3, 4)), o, 3 * c, kh, kw);
        return Ops.Conv2d(stacked, w, null, 1, kh / 2);
    }
}
