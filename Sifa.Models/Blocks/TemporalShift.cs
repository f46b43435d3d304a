using Sifa.Autograd;
using Sifa.Nn;

namespace Sifa.Models;

/// <summary>
/// The temporal shift of TSM (Lin et al., ICCV 2019; paper Table 1e), residual variant: before conv1 of a bottleneck,
/// the first C/8 channels of frame t take frame t+1's values (shifted backward in time, zero at the last frame), the next
/// C/8 take frame t−1's (shifted forward, zero at the first frame), the rest stay; the shortcut sees the unshifted input.
/// This is TSM's <c>shift(x, n_segment, fold_div=8)</c> exactly. No parameters.
/// </summary>
public sealed class TemporalShift : Module, ITemporalBlock
{
    /// <summary>The shifted fraction's divisor: C / 8 channels go each way.</summary>
    public const int FoldDiv = 8;

    /// <inheritdoc/>
    public bool BeforeConv1 => true;

    /// <summary>The shifted frames (N·T, C, H, W).</summary>
    /// <param name="x">Frames, clip-major.</param>
    /// <param name="frames">Frames per clip T.</param>
    public Variable Forward(Variable x, int frames)
    {
        int c = x.Shape[1], fold = c / FoldDiv;
        if (fold == 0) return x;
        var fromNext = TemporalBlocks.ShiftFrames(Ops.Narrow(x, 1, 0, fold), frames, +1);
        var fromPrev = TemporalBlocks.ShiftFrames(Ops.Narrow(x, 1, fold, fold), frames, -1);
        return Ops.Cat(new[] { fromNext, fromPrev, Ops.Narrow(x, 1, 2 * fold, c - 2 * fold) }, 1);
    }
}
