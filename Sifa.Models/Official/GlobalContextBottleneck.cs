using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// The official SIFA-Net's global-context bottleneck (<c>GBottleneck</c>): a ResNet bottleneck whose residual branch
/// also gets <c>fc2(relu(fc1(avgpool(branch))))</c>, the branch pooled over each clip's frames and positions, C → C/16 → C
/// with biases, broadcast to every frame and position. Keys <c>conv1..3, bn1..3, downsample.{0,1}, fc1, fc2</c>.
/// </summary>
public sealed class GlobalContextBottleneck : Module
{
    private readonly Conv2d _conv1, _conv2, _conv3;
    private readonly BatchNorm2d _bn1, _bn2, _bn3;
    private readonly Linear _fc1, _fc2;
    private readonly Sequential? _downsample;

    /// <summary>Creates the block.</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Bottleneck width (output is 4× this).</param>
    /// <param name="stride">Stride of the 3×3 conv.</param>
    /// <param name="downsample">Whether a 1×1 conv + BN projects the shortcut.</param>
    /// <param name="gen">Initialisation generator.</param>
    public GlobalContextBottleneck(int inplanes, int planes, int stride, bool downsample, Generator gen)
    {
        int c = planes * Bottleneck.Expansion;
        _conv1 = RegisterModule("conv1", new Conv2d(gen, inplanes, planes, 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(gen, planes, planes, 3, stride: stride, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _conv3 = RegisterModule("conv3", new Conv2d(gen, planes, c, 1, bias: false));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(c));
        if (downsample)
            _downsample = RegisterModule("downsample", new Sequential(
                new Conv2d(gen, inplanes, c, 1, stride: stride, bias: false),
                new BatchNorm2d(c)));
        _fc1 = RegisterModule("fc1", new Linear(gen, c, c / 16));
        _fc2 = RegisterModule("fc2", new Linear(gen, c / 16, c));
    }

    /// <summary>relu(branch + shortcut + gc(branch)) on frames (N·T, C, H, W).</summary>
    /// <param name="x">Frames.</param>
    /// <param name="frames">Frames per clip T (the context is pooled per clip).</param>
    /// <returns>The block output.</returns>
    public Variable Forward(Variable x, int frames)
    {
        // Each BN–ReLU–conv link recomputes its ReLU output in the backward instead of keeping it (ForwardReluConv).
        var o = _bn2.ForwardReluConv(_bn1.ForwardReluConv(_conv1.Forward(x), _conv2), _conv3);
        o = _bn3.Forward(o);
        int nt = o.Shape[0], c = o.Shape[1], h = o.Shape[2], w = o.Shape[3], n = nt / frames;
        // The context is read before the in-place residual sum overwrites the branch (mean keeps no input for backward).
        var gc = _fc2.Forward(Ops.Relu(_fc1.Forward(Ops.Mean(Ops.Reshape(o, n, frames, c, h * w), new[] { 1, 3 }))));
        var idn = _downsample != null ? _downsample.Forward(x) : x;
        var sum = Ops.Add(Ops.Reshape(Ops.AddInPlace(o, idn), n, frames, c, h * w), Ops.Reshape(gc, n, 1, c, 1));
        return Ops.ReluInPlace(Ops.Reshape(sum, nt, c, h, w));
    }
}
