using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>The temporal-modelling block a ResNet bottleneck of a chosen stage gets (paper Table 1a and 1e).</summary>
public enum TemporalBlock
{
    /// <summary>The SIFA block after the 3×3 conv (<see cref="SifaBlock"/>; default).</summary>
    Sifa,
    /// <summary>The correlation map as features after the 3×3 conv (<see cref="CorrelationBlock"/>; SIFA_C, CorrNet).</summary>
    Correlation,
    /// <summary>A zero-residual 1D conv over time after the 3×3 conv (<see cref="TemporalConvBlock"/>; R(2+1)D-style).</summary>
    TemporalConv,
    /// <summary>The residual temporal shift before conv1 (<see cref="TemporalShift"/>; TSM).</summary>
    TemporalShift,
}

/// <summary>A block that mixes the frames of each clip; frames are (N·T, C, H, W), clip-major.</summary>
public interface ITemporalBlock
{
    /// <summary>True when the block acts on the bottleneck's input (before conv1), false after relu(bn2(conv2)).</summary>
    bool BeforeConv1 { get; }

    /// <summary>The block's output, the shape of <paramref name="x"/>.</summary>
    /// <param name="x">Frame features (N·T, C, H, W).</param>
    /// <param name="frames">Frames per clip T.</param>
    Variable Forward(Variable x, int frames);
}

/// <summary>Creates the temporal blocks of <see cref="TemporalBlock"/> and the frame shifts they are built from.</summary>
public static class TemporalBlocks
{
    /// <summary>The module name of a block kind inside a bottleneck (<c>sifa</c>, <c>corr</c>, <c>tconv</c>, <c>tsm</c>).</summary>
    public static string Key(TemporalBlock block) => block switch
    {
        TemporalBlock.Sifa => "sifa",
        TemporalBlock.Correlation => "corr",
        TemporalBlock.TemporalConv => "tconv",
        TemporalBlock.TemporalShift => "tsm",
        _ => throw new ArgumentOutOfRangeException(nameof(block), block, null),
    };

    /// <summary>The block <paramref name="options"/>' <see cref="SifaOptions.Block"/> names, for <paramref name="channels"/> channels.</summary>
    /// <param name="channels">Channels C where the block sits (the bottleneck's width; unused by the shift).</param>
    /// <param name="options">The options (the SIFA and correlation blocks read k, groups, offsets, last frame).</param>
    /// <param name="gen">Initialisation generator (the learnt parts start at zero regardless).</param>
    public static Module Create(int channels, SifaOptions options, Generator gen) => options.Block switch
    {
        TemporalBlock.Sifa => new SifaBlock(channels, options, gen),
        TemporalBlock.Correlation => new CorrelationBlock(channels, options, gen),
        TemporalBlock.TemporalConv => new TemporalConvBlock(channels),
        TemporalBlock.TemporalShift => new TemporalShift(),
        _ => throw new ArgumentOutOfRangeException(nameof(options), options.Block, null),
    };

    /// <summary>
    /// Whether a parameter starts at zero by design and must not be re-initialised by a network's Kaiming pass: the
    /// offset convs (so a SIFA block starts on the regular grid), the temporal conv and the correlation projection (so
    /// those blocks start as the identity and the network as C2D).
    /// </summary>
    public static bool StartsAtZero(string parameterName) =>
        parameterName.EndsWith("offset_conv.weight", StringComparison.Ordinal)
        || parameterName.EndsWith("tconv.conv.weight", StringComparison.Ordinal)
        || parameterName.EndsWith("corr.proj.weight", StringComparison.Ordinal);

    /// <summary>
    /// Frame t+<paramref name="delta"/> of the same clip for every frame t, zero where that frame lies outside the clip
    /// (the zero temporal padding of a Conv3d and of TSM). Gradients flow back to the frames read.
    /// </summary>
    /// <param name="x">Frames (N·T, ...), clip-major.</param>
    /// <param name="frames">Frames per clip T.</param>
    /// <param name="delta">The temporal offset (−1: previous frame, +1: next frame).</param>
    public static Variable ShiftFrames(Variable x, int frames, int delta)
    {
        int nt = x.Shape[0];
        if (frames < 1 || nt % frames != 0) throw new ArgumentException($"{nt} frames are not whole clips of {frames}");
        var index = new int[nt];
        var mask = new float[nt];
        bool clipped = false;
        for (int i = 0; i < nt; i++)
        {
            int t = i % frames + delta;
            bool inside = t >= 0 && t < frames;
            index[i] = inside ? i + delta : i;
            mask[i] = inside ? 1f : 0f;
            clipped |= !inside;
        }
        var shifted = Ops.IndexSelect(x, 0, index);
        if (!clipped) return shifted;
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[0] = nt;
        return Ops.Mul(shifted, new Variable(Tensor.FromArray(mask, shape).ToDevice(x.Data.Device)));
    }
}
