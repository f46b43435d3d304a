using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// What one forward pass of a <see cref="SifaBlock"/> computed, for looking inside it (<c>sifa explain</c>): set
/// <see cref="SifaBlock.Capture"/> and run the model. It holds the block's very tensors: the input x, the offsets
/// the SIFA op was called with (so sampling positions drawn from them are the ones the op used), the attention
/// weights the op computed, the offset conv's input (the motion saliency map for <see cref="OffsetSource.Msm"/>), and
/// after a backward pass the gradient of the block's output.
/// </summary>
public sealed class SifaCapture
{
    /// <summary>The block's input x, (N·T, C, H, W).</summary>
    public Tensor? Input { get; private set; }

    /// <summary>The offsets passed to the SIFA op, (N·T, 2k², H, W): channel 2j is neighbour j's row offset, 2j+1 its column offset.</summary>
    public Tensor? Offsets { get; private set; }

    /// <summary>The attention weights W of the SIFA op, (N·T, G, k², H, W), neighbour j = a·k + b.</summary>
    public Tensor? Weights { get; private set; }

    /// <summary>The offset conv's input (the motion saliency map sigmoid(x_{t+1} - x_t)·x_{t+1} by default), null for
    /// regular (offset-free) blocks.</summary>
    public Tensor? OffsetSourceMap { get; private set; }

    /// <summary>The block's output Y, (N·T, C, H, W).</summary>
    public Tensor? Output { get; private set; }

    /// <summary>d(backward seed)/dY after a backward pass through the captured forward; null before.</summary>
    public Tensor? OutputGrad { get; private set; }

    /// <summary>Frames per clip T of the captured call.</summary>
    public int Frames { get; private set; }

    /// <summary>The block's options.</summary>
    public SifaOptions Options { get; private set; } = new();

    /// <summary>
    /// Records one forward (called by the block). The weights come from the SIFA op's own forward kernel run on the same
    /// x and offsets (the autograd op keeps its copy private), so they are the op's weights exactly.
    /// </summary>
    /// <returns>The output, wrapped in an identity whose backward records <see cref="OutputGrad"/>.</returns>
    internal Variable Record(Variable x, Variable offsets, Variable? source, Variable y, int frames, SifaOptions options)
    {
        var shape = SifaShape.Of(x.Shape, offsets.Shape, frames, options.K, options.Dilation, options.Groups, options.LastFrame, options.Normalize);
        Input = x.Data.Clone();
        Offsets = offsets.Data.Clone();
        OffsetSourceMap = source?.Data.Clone();
        Weights = new SifaForwardOp(shape).Run([x.Data, offsets.Data], x.Shape, shape.WeightsShape)[1];
        Output = y.Data.Clone();
        Frames = frames;
        Options = options;
        OutputGrad = null;
        return Variable.FromOp(y.Data, "sifa_capture", [y], g =>
        {
            OutputGrad = g.Clone();
            return [g];
        });
    }
}
