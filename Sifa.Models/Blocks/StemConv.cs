using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// The first conv of a video model with a temporal stem stride s (SPEC section 4): a [s, kh, kw] conv with
/// temporal stride s, run as a 2D conv over 3s input channels ordered c·s + dt. Its weight is stored in the
/// Conv3d layout (out, 3, s, kh, kw) when s &gt; 1 and as a plain (out, 3, kh, kw) kernel when s = 1, so
/// both video checkpoints and 2D ImageNet checkpoints load by key.
/// </summary>
public sealed class StemConv : Module
{
    private readonly int _stride, _padding;

    /// <summary>Creates the stem.</summary>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernel">Spatial kernel size.</param>
    /// <param name="stride">Spatial stride.</param>
    /// <param name="padding">Spatial padding.</param>
    /// <param name="temporalStride">Temporal stride s (frames per group).</param>
    /// <param name="bias">Whether it has a bias.</param>
    /// <param name="gen">Initialisation generator (PyTorch's default conv init).</param>
    public StemConv(int outChannels, int kernel, int stride, int padding, int temporalStride, bool bias, Generator gen)
    {
        if (temporalStride < 1) throw new ArgumentException($"temporal stride must be ≥ 1, got {temporalStride}");
        _stride = stride;
        _padding = padding;
        TemporalStride = temporalStride;
        var shape = temporalStride > 1
            ? new[] { outChannels, 3, temporalStride, kernel, kernel }
            : new[] { outChannels, 3, kernel, kernel };
        Weight = RegisterParameter("weight", Tensor.Zeros(shape));
        Init.KaimingUniform(Weight.Data, gen);
        if (bias)
        {
            Bias = RegisterParameter("bias", Tensor.Zeros(outChannels));
            float bound = 1f / MathF.Sqrt(3 * temporalStride * kernel * kernel);
            Bias.Data.CopyFrom(Tensor.Rand(gen, new[] { outChannels }, -bound, bound));
        }
    }

    /// <summary>Frames per group s.</summary>
    public int TemporalStride { get; }

    /// <summary>The kernel, (out, 3, s, kh, kw) or (out, 3, kh, kw).</summary>
    public Variable Weight { get; }

    /// <summary>The bias, if any.</summary>
    public Variable? Bias { get; }

    /// <summary>Convolves frame groups (B, 3s, H, W).</summary>
    /// <param name="x">Input with channels ordered c·s + dt.</param>
    /// <returns>The output.</returns>
    public Variable Forward(Variable x)
    {
        var w = Weight.Rank == 5 ? Ops.Reshape(Weight, Weight.Shape[0], -1, Weight.Shape[3], Weight.Shape[4]) : Weight;
        return Ops.Conv2d(x, w, Bias, _stride, _padding);
    }

    /// <summary>Groups s consecutive frames of clips (N, T, 3, H, W) into (N·T/s, 3s, H, W), channels ordered c·s + dt.</summary>
    /// <param name="clip">The clips.</param>
    /// <param name="s">Temporal stride.</param>
    /// <returns>The frame groups.</returns>
    public static Variable GroupFrames(Variable clip, int s)
    {
        int n = clip.Shape[0], t = clip.Shape[1], h = clip.Shape[3], w = clip.Shape[4];
        if (t % s != 0) throw new ArgumentException($"{t} frames are not divisible by the temporal stem stride {s}");
        if (s == 1) return Ops.Reshape(clip, n * t, 3, h, w);
        return Ops.Reshape(Ops.Permute(Ops.Reshape(clip, n, t / s, s, 3, h, w), 0, 1, 3, 2, 4, 5), n * (t / s), 3 * s, h, w);
    }
}
