using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// SIFA_C of paper Table 1a and the correlation block of Table 1e: CorrNet's correlation operator (Wang et al., CVPR
/// 2020, ref. [55]) as extra features rather than as attention weights. For each frame t the correlation map
/// W_cor — per group g and neighbour j of the regular k×k grid in frame t+1, W_{g,j} = (1/Cg)·⟨x_t, x_{t+1}(· + δ_j)⟩,
/// exactly the SIFA op's weights with zero offsets (SPEC section 3, step 3) — is projected back to C channels by a
/// 1×1 conv and added residually: y = x + proj(W_cor). The projection starts at zero, so a new block is the identity
/// (the network starts as C2D) and learns how to read the motion features. The last frame correlates with itself, or
/// gets zero features with <see cref="LastFrame.None"/>. Key: <c>corr.proj.weight</c> (C, G·k², 1, 1).
/// </summary>
public sealed class CorrelationBlock : Module, ITemporalBlock
{
    private readonly Conv2d _proj;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">Channels C.</param>
    /// <param name="options">k, correlation groups G, dilation and last frame (offsets are not used: the grid is regular).</param>
    /// <param name="gen">Initialisation generator (the projection starts at zero regardless).</param>
    public CorrelationBlock(int channels, SifaOptions? options = null, Generator? gen = null)
    {
        Options = options ?? new SifaOptions();
        if (channels % Options.Groups != 0) throw new ArgumentException($"{channels} channels are not divisible by {Options.Groups} correlation groups");
        _proj = RegisterModule("proj", new Conv2d(gen ?? new Generator(0), Options.Groups * Options.K * Options.K, channels, 1, bias: false, init: ConvInit.Zeros));
        _proj.Weight.Data.Fill_(0f);
    }

    /// <summary>The block's options.</summary>
    public SifaOptions Options { get; }

    /// <inheritdoc/>
    public bool BeforeConv1 => false;

    /// <summary>x + proj(W_cor(x)) on frames (N·T, C, H, W).</summary>
    /// <param name="x">Frames, clip-major.</param>
    /// <param name="frames">Frames per clip T.</param>
    public Variable Forward(Variable x, int frames) =>
        Ops.Add(x, _proj.Forward(Correlation(x, frames, Options.K, Options.Dilation, Options.Groups, Options.LastFrame)));

    /// <summary>
    /// The correlation map (N·T, G·k², H, W) of each frame with the regular k×k neighbourhood of its next frame:
    /// channel g·k² + j is W_{g,j} = (1/Cg)·Σ_{c∈g} x_t[c]·x_{next(t)}[c](y + (a−r)·d, x + (b−r)·d), j = a·k + b, zero
    /// outside the frame; next(T−1) = T−1 (its rows are zero with <see cref="LastFrame.None"/>). Differentiable in x.
    /// </summary>
    /// <param name="x">Frames (N·T, C, H, W), clip-major.</param>
    /// <param name="frames">Frames per clip T.</param>
    /// <param name="k">Odd grid size.</param>
    /// <param name="dilation">Grid dilation.</param>
    /// <param name="groups">Correlation groups G (dividing C).</param>
    /// <param name="lastFrame">What the last frame correlates with.</param>
    public static Variable Correlation(Variable x, int frames, int k = 3, int dilation = 1, int groups = 1, LastFrame lastFrame = LastFrame.Self)
    {
        int nt = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], p = k * k;
        if (k < 1 || k % 2 == 0) throw new ArgumentException($"correlation grid size k must be odd and ≥ 1, got {k}");
        if (groups < 1 || c % groups != 0) throw new ArgumentException($"{c} channels are not divisible by {groups} correlation groups");
        var zeroOffsets = new Variable(Tensor.Zeros(new[] { nt, 2 * p, h, w }, x.Data.Device));
        var keys = SifaOps.DeformGather(SifaBlock.NextFrames(x, frames), zeroOffsets, k, dilation); // (NT, C, k², H, W)
        var prod = Ops.Mul(Ops.Reshape(x, nt, c, 1, h, w), keys);
        var sums = Ops.Sum(Ops.Reshape(prod, nt, groups, c / groups, p, h, w), new[] { 2 });   // (NT, G, k², H, W)
        FlopCounter.Add((long)nt * c * p * h * w);
        var corr = Ops.Affine(Ops.Reshape(sums, nt, groups * p, h, w), groups / (float)c);
        return lastFrame == LastFrame.None ? LastFramesZeroed(corr, frames) : corr;
    }

    private static Variable LastFramesZeroed(Variable v, int frames)
    {
        int nt = v.Shape[0];
        var mask = new float[nt];
        for (int i = 0; i < nt; i++) mask[i] = i % frames == frames - 1 ? 0f : 1f;
        return Ops.Mul(v, new Variable(Tensor.FromArray(mask, nt, 1, 1, 1).ToDevice(v.Data.Device)));
    }
}
