using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>Where the SIFA block takes its offsets from (paper Table 1b).</summary>
public enum OffsetSource
{
    /// <summary>Motion saliency map m = sigmoid(x_next - x) ⊙ x_next (default, eq. 4-7).</summary>
    Msm,
    /// <summary>No offsets: the regular k×k grid (SIFA_R, no parameters).</summary>
    Regular,
    /// <summary>Conv of the next frame's features.</summary>
    Next,
    /// <summary>Conv of the frame difference Δ = x_next - x.</summary>
    Difference,
    /// <summary>A 3×3×3 conv over the clip's feature sequence [x_{t−1}, x_t, x_{t+1}] (Conv3D(f), zero temporal padding).</summary>
    Conv3d,
    /// <summary>The official code's map m = sigmoid(x_next - x) ⊙ x_next + x_next (docs/official.md).</summary>
    MsmOfficial,
}

/// <summary>The SIFA variants of paper Table 1a, as a shorthand for <see cref="SifaOptions"/> settings.</summary>
public enum SifaVariant
{
    /// <summary>SIFA: attention over the deformed grid (the offset source as set; default msm).</summary>
    Sifa,
    /// <summary>SIFA_R: attention over the regular grid (offsets <see cref="OffsetSource.Regular"/>).</summary>
    SifaR,
    /// <summary>SIFA_C: the correlation map as features (<see cref="TemporalBlock.Correlation"/>).</summary>
    SifaC,
}

/// <summary>Options of a SIFA block.</summary>
/// <param name="K">Odd local size k (3).</param>
/// <param name="Dilation">Grid dilation (1).</param>
/// <param name="Groups">Correlation groups (1).</param>
/// <param name="Offsets">Offset source (msm).</param>
/// <param name="LastFrame">What the last frame attends to (self).</param>
/// <param name="Normalize">Weight normalisation (none).</param>
/// <param name="Block">The temporal block of a ResNet bottleneck these options configure (SIFA).</param>
public sealed record SifaOptions(int K = 3, int Dilation = 1, int Groups = 1, OffsetSource Offsets = OffsetSource.Msm,
    LastFrame LastFrame = LastFrame.Self, SifaNormalize Normalize = SifaNormalize.None, TemporalBlock Block = TemporalBlock.Sifa);

/// <summary>
/// The SIFA block (SPEC section 3): offsets are predicted by a zero-initialised 3×3 conv (C → 2k²) from the
/// motion saliency map of each frame and its next frame, then the fused SIFA op attends from frame t into the
/// deformed neighbourhood of frame t+1. Key: <c>offset_conv.weight</c>: (2k², C, 3, 3), or (2k², C, 3, 3, 3) in
/// the Conv3d layout for <see cref="OffsetSource.Conv3d"/>.
/// </summary>
public sealed class SifaBlock : Module, ITemporalBlock
{
    private readonly Conv2d? _offsetConv;
    private readonly FrameConv3d? _offsetConv3d;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">Channels C of the features.</param>
    /// <param name="options">Options (defaults when null).</param>
    /// <param name="gen">Initialisation generator (the offset conv starts at zero regardless).</param>
    public SifaBlock(int channels, SifaOptions? options = null, Generator? gen = null)
    {
        Options = options ?? new SifaOptions();
        if (Options.Offsets == OffsetSource.Conv3d)
            _offsetConv3d = RegisterModule("offset_conv", new FrameConv3d(channels, 2 * Options.K * Options.K, 3));
        else if (Options.Offsets != OffsetSource.Regular)
        {
            _offsetConv = RegisterModule("offset_conv", new Conv2d(gen ?? new Generator(0), channels, 2 * Options.K * Options.K, 3, padding: 1, bias: false, init: ConvInit.Zeros));
            _offsetConv.Weight.Data.Fill_(0f);
        }
    }

    /// <summary>The block's options.</summary>
    public SifaOptions Options { get; }

    /// <summary>When set, each forward records its input, offsets, weights and offset source there (<c>sifa explain</c>).</summary>
    public SifaCapture? Capture { get; set; }

    /// <inheritdoc/>
    public bool BeforeConv1 => false;

    /// <summary>Y = SIFA(x, offsets(x)) on frames (N·T, C, H, W).</summary>
    /// <param name="x">Frame features.</param>
    /// <param name="frames">Frames per clip T.</param>
    /// <returns>Y (same shape).</returns>
    public Variable Forward(Variable x, int frames)
    {
        int nt = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], k = Options.K;
        Variable offsets;
        Variable? src = null; // the offset conv's input, for the capture (the Conv3D(f) source is x itself)
        if (_offsetConv3d != null)
            offsets = _offsetConv3d.Forward(x, frames);
        else if (_offsetConv == null)
            offsets = new Variable(Tensor.Zeros(new[] { nt, 2 * k * k, h, w }, x.Data.Device));
        else
        {
            var next = NextFrames(x, frames);
            src = Options.Offsets switch
            {
                OffsetSource.Msm => Ops.Sigmoid(next - x) * next,
                OffsetSource.Difference => next - x,
                OffsetSource.MsmOfficial => Ops.Sigmoid(next - x) * next + next,
                _ => next,
            };
            offsets = _offsetConv.Forward(src);
        }
        var y = SifaOps.Sifa(x, offsets, frames, k, Options.Dilation, Options.Groups, Options.LastFrame, Options.Normalize);
        return Capture?.Record(x, offsets, src, y, frames, Options) ?? y;
    }

    /// <summary>x_next(t) for every frame: frame t+1, and the last frame of each clip itself.</summary>
    /// <param name="x">Frames (N·T, C, H, W).</param>
    /// <param name="frames">T.</param>
    /// <returns>The next frames, same shape.</returns>
    public static Variable NextFrames(Variable x, int frames)
    {
        int nt = x.Shape[0];
        var idx = new int[nt];
        for (int i = 0; i < nt; i++) idx[i] = i % frames < frames - 1 ? i + 1 : i;
        return Ops.IndexSelect(x, 0, idx);
    }
}
