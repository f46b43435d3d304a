using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// torchvision's ResNet v1.5 bottleneck (stride on the 3×3 conv), with an optional SIFA block after
/// relu(bn2(conv2(·))) and before conv3 (SIFA-Net, paper Figure 4a), or another temporal block of
/// <see cref="SifaOptions.Block"/> (correlation and temporal conv at the same place, the temporal shift before conv1).
/// </summary>
public sealed class Bottleneck : Module
{
    /// <summary>Channel expansion of conv3.</summary>
    public const int Expansion = 4;
    private readonly Conv2d _conv1, _conv2, _conv3;
    private readonly BatchNorm2d _bn1, _bn2, _bn3;
    private readonly ITemporalBlock? _temporal;
    private readonly Sequential? _downsample;

    /// <summary>Creates the block.</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Bottleneck width (output is 4× this).</param>
    /// <param name="stride">Stride of the 3×3 conv.</param>
    /// <param name="downsample">Whether a 1×1 conv + BN projects the shortcut.</param>
    /// <param name="sifa">SIFA options (their <see cref="SifaOptions.Block"/> picks the temporal block), or null for a plain block.</param>
    /// <param name="gen">Initialisation generator.</param>
    public Bottleneck(int inplanes, int planes, int stride, bool downsample, SifaOptions? sifa, Generator gen)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(gen, inplanes, planes, 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(gen, planes, planes, 3, stride: stride, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (sifa != null) _temporal = (ITemporalBlock)RegisterModule(TemporalBlocks.Key(sifa.Block), TemporalBlocks.Create(planes, sifa, gen));
        _conv3 = RegisterModule("conv3", new Conv2d(gen, planes, planes * Expansion, 1, bias: false));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        if (downsample)
            _downsample = RegisterModule("downsample", new Sequential(
                new Conv2d(gen, inplanes, planes * Expansion, 1, stride: stride, bias: false),
                new BatchNorm2d(planes * Expansion)));
    }

    /// <summary>relu(bn3(conv3(sifa(relu(bn2(conv2(relu(bn1(conv1(x))))))))) + shortcut); a temporal shift acts on conv1's input instead.</summary>
    /// <param name="x">Frames (N·T, C, H, W).</param>
    /// <param name="frames">Frames per clip (for SIFA).</param>
    /// <returns>The block output.</returns>
    public Variable Forward(Variable x, int frames)
    {
        // BN + ReLU fused; the residual sum in place (torchvision's out += identity, then ReLU(inplace=True)): batch norm
        // saves its input, not its output, so its output array can hold the sum.
        // Each BN–ReLU–conv link recomputes its ReLU output in the backward instead of keeping it (ForwardReluConv); a
        // temporal block between bn2 and conv3 takes the ReLU output itself.
        var o = _bn1.ForwardReluConv(_conv1.Forward(_temporal is { BeforeConv1: true } pre ? pre.Forward(x, frames) : x), _conv2);
        o = _temporal is { BeforeConv1: false } mid
            ? _conv3.Forward(mid.Forward(_bn2.ForwardRelu(o), frames))
            : _bn2.ForwardReluConv(o, _conv3);
        o = _bn3.Forward(o);
        var idn = _downsample != null ? _downsample.Forward(x) : x;
        return Ops.ReluInPlace(Ops.AddInPlace(o, idn));
    }
}
