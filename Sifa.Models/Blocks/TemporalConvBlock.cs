using Sifa.Autograd;
using Sifa.Nn;

namespace Sifa.Models;

/// <summary>
/// The temporal-convolution baseline of paper Table 1e (R(2+1)D's 1D conv over time, ref. [52]): after the 3×3 conv
/// of a bottleneck, y = x + Conv_t(x) with Conv_t a full C → C conv of temporal kernel 3 (a <see cref="FrameConv3d"/>
/// with a 1×1 spatial kernel, zero temporal padding). Zero-residual: Conv_t starts at zero, so a new block is the
/// identity and the network starts as C2D (the same start as a SIFA block's zero offset conv, and as the official
/// SIFA-Swin's zero-initialised temporal conv). Key: <c>tconv.conv.weight</c> (C, C, 3, 1, 1).
/// </summary>
public sealed class TemporalConvBlock : Module, ITemporalBlock
{
    private readonly FrameConv3d _conv;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">Channels C.</param>
    public TemporalConvBlock(int channels)
    {
        _conv = RegisterModule("conv", new FrameConv3d(channels, channels, 1));
    }

    /// <inheritdoc/>
    public bool BeforeConv1 => false;

    /// <summary>x + Conv_t(x) on frames (N·T, C, H, W).</summary>
    /// <param name="x">Frames, clip-major.</param>
    /// <param name="frames">Frames per clip T.</param>
    public Variable Forward(Variable x, int frames) => Ops.Add(x, _conv.Forward(x, frames));
}
