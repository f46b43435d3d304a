using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>Configuration of the official SIFA-Transformer (FuchenUSTC/SIFA, <c>model/c2d_sifa_swin.py</c>).</summary>
/// <param name="Image">Input resolution.</param>
/// <param name="Patch">Patch size.</param>
/// <param name="Embed">Embedding width C.</param>
/// <param name="Depths">Blocks per stage.</param>
/// <param name="Heads">Heads per stage.</param>
/// <param name="Window">Window size.</param>
/// <param name="NumClasses">Classifier outputs.</param>
/// <param name="SifaStages">Stages (1-based) built as the official <c>SIFABasicLayer</c>; null: all (as every official variant).</param>
/// <param name="Sifa">SIFA options (default: k 3, zero offsets, no aggregation into the last frame).</param>
/// <param name="MlpRatio">MLP hidden ratio.</param>
/// <param name="DropPath">Stochastic depth rate (linear over the blocks).</param>
/// <param name="Dropout">Dropout before <c>fc</c> (official recipe: 0.5).</param>
/// <param name="StemStride">Temporal stride s of the tubelet embedding (official: 4).</param>
public sealed record OfficialSwinConfig(int Image = 224, int Patch = 4, int Embed = 128, int[]? Depths = null, int[]? Heads = null,
    int Window = 7, int NumClasses = 400, int[]? SifaStages = null, SifaOptions? Sifa = null, float MlpRatio = 4f,
    float DropPath = 0.5f, float Dropout = 0.5f, int StemStride = 4) : IVideoModelConfig
{
    /// <summary>The official SIFA options: k 3, <see cref="OffsetSource.Regular"/> (zero offsets), <see cref="LastFrame.None"/>.</summary>
    public static SifaOptions OfficialSifa { get; } = new(Offsets: OffsetSource.Regular, LastFrame: LastFrame.None);

    /// <summary>Blocks per stage (default Swin-B's).</summary>
    public int[] StageDepths => Depths ?? new[] { 2, 2, 18, 2 };

    /// <summary>Heads per stage (default Swin-B's).</summary>
    public int[] StageHeads => Heads ?? new[] { 4, 8, 16, 32 };

    /// <summary>The SIFA stages (default all).</summary>
    public int[] Stages => SifaStages ?? Enumerable.Range(1, StageDepths.Length).ToArray();
}

/// <summary>
/// The official SIFA-Transformer (SPEC section 8): a 2D Swin over frame groups whose patch embedding is a Conv3d with
/// bias and no LayerNorm; in a SIFA stage every block has a temporal conv <c>conv</c> (C → C, kernel [1, 3] over time,
/// zero at start) and <c>tda_norm</c> (a LayerNorm starting at zero): regular-window blocks add
/// <c>tda_norm(SIFA(x) − x)</c> with zero offsets after the attention residual, shifted blocks add <c>conv(x)</c>.
/// Head: final <c>norm</c>, mean over each frame's tokens, dropout, <c>fc</c>, logits averaged over frames.
/// </summary>
public sealed class OfficialSifaSwin : VideoModel<OfficialSwinConfig>, IOfficialLayout
{
    private readonly Container _patchEmbed;
    private readonly StemConv _proj;
    private readonly ModuleList<OfficialSwinLayer> _layers;
    private readonly LayerNorm _norm;
    private readonly Dropout _drop;
    private readonly Linear _fc;

    /// <summary>Builds the network.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="gen">Initialisation generator.</param>
    public OfficialSifaSwin(OfficialSwinConfig config, Generator? gen = null) : base(config)
    {
        gen ??= new Generator(0);
        var depths = config.StageDepths;
        var heads = config.StageHeads;
        if (heads.Length != depths.Length) throw new ArgumentException($"{depths.Length} stages but {heads.Length} head counts");
        _patchEmbed = RegisterModule("patch_embed", new Container());
        _proj = _patchEmbed.Add("proj", new StemConv(config.Embed, config.Patch, config.Patch, 0, config.StemStride, bias: true, gen: gen));
        int res = config.Image / config.Patch, total = depths.Sum(), first = 0;
        _layers = RegisterModule("layers", new ModuleList<OfficialSwinLayer>());
        var sifa = config.Sifa ?? OfficialSwinConfig.OfficialSifa;
        for (int i = 0; i < depths.Length; i++)
        {
            int dim = config.Embed << i, r = res >> i;
            var dpr = Enumerable.Range(first, depths[i]).Select(bi => total > 1 ? config.DropPath * bi / (total - 1) : 0f).ToArray();
            _layers.Add(new OfficialSwinLayer(dim, r, depths[i], heads[i], config.Window, config.MlpRatio, dpr, i < depths.Length - 1,
                config.Stages.Contains(i + 1) ? sifa : null, gen));
            first += depths[i];
        }
        int features = config.Embed << (depths.Length - 1);
        _norm = RegisterModule("norm", new LayerNorm(features));
        _drop = RegisterModule("drop", new Dropout(config.Dropout, gen.Fork()));
        _fc = RegisterModule("fc", new Linear(gen, features, config.NumClasses));
        // Swin's init for every linear (truncated normal, std 0.02, zero bias); the temporal convs and tda_norm stay at
        // zero, as the official ImageNet transfer sets them, so a new network is the per-frame Swin.
        foreach (var (_, m) in NamedModules())
            if (m is Linear lin) lin.InitTruncNormal(gen);
    }

    /// <inheritdoc/>
    public bool KeptAtInitWhenMissing(string key) =>
        key.EndsWith(".conv.weight", StringComparison.Ordinal) || key.Contains(".tda_norm.", StringComparison.Ordinal);

    /// <inheritdoc/>
    protected override bool AcceptsFrames(int height, int width) => height == Config.Image && width == Config.Image;

    /// <inheritdoc/>
    protected override string FrameShape => $"{Config.Image}, {Config.Image}";

    /// <inheritdoc/>
    protected override Variable Logits(Variable groups, int clips, int frames)
    {
        var p = _proj.Forward(groups);
        var x = Ops.Transpose(Ops.Reshape(p, p.Shape[0], p.Shape[1], -1), 1, 2);
        foreach (var layer in _layers) x = layer.Forward(x, frames);
        x = _norm.Forward(x);
        var perFrame = _fc.Forward(_drop.Forward(Ops.Mean(x, new[] { 1 })));
        return Ops.Mean(Ops.Reshape(perFrame, clips, frames, -1), new[] { 1 });
    }

    /// <summary>A module that only holds children (the official <c>patch_embed</c> has nothing but <c>proj</c>).</summary>
    private sealed class Container : Module
    {
        public T Add<T>(string name, T child) where T : Module => RegisterModule(name, child);
    }
}

/// <summary>One official Swin stage (<c>SIFABasicLayer</c> or <c>BasicLayer</c>), then optional patch merging.</summary>
public sealed class OfficialSwinLayer : Module
{
    private readonly ModuleList<OfficialSwinBlock> _blocks;
    private readonly PatchMerging? _downsample;

    /// <summary>Creates the stage.</summary>
    /// <param name="dim">Channels.</param>
    /// <param name="res">Token rows = columns.</param>
    /// <param name="depth">Blocks.</param>
    /// <param name="heads">Heads.</param>
    /// <param name="window">Window size.</param>
    /// <param name="mlpRatio">MLP ratio.</param>
    /// <param name="dropPath">Drop-path rate per block.</param>
    /// <param name="downsample">Whether a patch merging follows.</param>
    /// <param name="sifa">SIFA options for a SIFA stage, or null for a plain one.</param>
    /// <param name="gen">Initialisation generator.</param>
    public OfficialSwinLayer(int dim, int res, int depth, int heads, int window, float mlpRatio, float[] dropPath, bool downsample,
        SifaOptions? sifa, Generator gen)
    {
        _blocks = RegisterModule("blocks", new ModuleList<OfficialSwinBlock>());
        for (int j = 0; j < depth; j++)
            _blocks.Add(new OfficialSwinBlock(dim, res, heads, window, j % 2 == 0 ? 0 : window / 2, mlpRatio, dropPath[j], sifa, gen));
        if (downsample) _downsample = RegisterModule("downsample", new PatchMerging(res, res, dim, gen));
    }

    /// <summary>Runs the blocks (and the merging).</summary>
    /// <param name="x">Tokens (B, L, C).</param>
    /// <param name="frames">Frames per clip.</param>
    /// <returns>Tokens.</returns>
    public Variable Forward(Variable x, int frames)
    {
        foreach (var blk in _blocks) x = blk.Forward(x, frames);
        return _downsample != null ? _downsample.Forward(x) : x;
    }
}

/// <summary>
/// The official <c>SIFASwinTransformerBlock</c>: window attention (shifted in odd blocks unless the map fits one window),
/// then — in a SIFA stage — <c>x + tda_norm(SIFA(x) − x)</c> in a regular-window block or <c>x + conv(x)</c> (a [1, 3]
/// conv over each token's frames, zero padded) in a shifted one, then the MLP. Both <c>conv</c> and <c>tda_norm</c> exist
/// in every block of a SIFA stage (as in the official state dict), though each block uses one of them.
/// </summary>
public sealed class OfficialSwinBlock : Module
{
    private readonly int _res, _ws, _shift;
    private readonly LayerNorm _norm1, _norm2;
    private readonly WindowAttention _attn;
    private readonly Mlp _mlp;
    private readonly SifaBlock? _sifa;
    private readonly LayerNorm? _tdaNorm;
    private readonly TemporalConv? _conv;
    private readonly DropPath _dropPath;
    private readonly Tensor? _mask;

    /// <summary>Creates the block.</summary>
    /// <param name="dim">Channels.</param>
    /// <param name="res">Token rows = columns.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="window">Window size (shrinks to the resolution when that is smaller, with no shift).</param>
    /// <param name="shift">Cyclic shift (0 for regular windows).</param>
    /// <param name="mlpRatio">MLP hidden ratio.</param>
    /// <param name="dropPath">Stochastic depth rate.</param>
    /// <param name="sifa">SIFA options in a SIFA stage, or null.</param>
    /// <param name="gen">Initialisation generator.</param>
    public OfficialSwinBlock(int dim, int res, int heads, int window, int shift, float mlpRatio, float dropPath, SifaOptions? sifa, Generator gen)
    {
        if (res <= window) { window = res; shift = 0; }
        if (res % window != 0) throw new ArgumentException($"token map {res}×{res} is not divisible by window {window}");
        (_res, _ws, _shift) = (res, window, shift);
        _norm1 = RegisterModule("norm1", new LayerNorm(dim));
        _attn = RegisterModule("attn", new WindowAttention(dim, window, heads, gen));
        _dropPath = RegisterModule("drop_path", new DropPath(dropPath, gen.Fork()));
        _norm2 = RegisterModule("norm2", new LayerNorm(dim));
        _mlp = RegisterModule("mlp", new Mlp(dim, (int)(dim * mlpRatio), gen));
        if (sifa != null)
        {
            _sifa = RegisterModule("sifa", new SifaBlock(dim, sifa, gen));
            _conv = RegisterModule("conv", new TemporalConv(dim));
            _tdaNorm = RegisterModule("tda_norm", new LayerNorm(dim));
            _tdaNorm.Weight!.Data.Fill_(0f);
            _tdaNorm.Bias!.Data.Fill_(0f);
        }
        if (shift > 0)
        {
            _mask = SwinBlock.ShiftMask(res, res, window, shift);
            RegisterBuffer("attn_mask", _mask, persistent: false);
        }
    }

    /// <summary>The block on tokens (B, H·W, C) of B = N·T frames.</summary>
    /// <param name="x">Tokens.</param>
    /// <param name="frames">Frames per clip (for SIFA and the temporal conv).</param>
    /// <returns>Tokens.</returns>
    public Variable Forward(Variable x, int frames)
    {
        int b = x.Shape[0], l = x.Shape[1], c = x.Shape[2];
        var h = Ops.Reshape(_norm1.Forward(x), b, _res, _res, c);
        if (_shift > 0) h = Ops.Roll(h, new[] { -_shift, -_shift }, new[] { 1, 2 });
        var aw = _attn.Forward(SwinBlock.WindowPartition(h, _ws), _mask == null ? null : new Variable(_mask.ToDevice(x.Data.Device)));
        h = SwinBlock.WindowReverse(aw, _ws, _res, _res);
        if (_shift > 0) h = Ops.Roll(h, new[] { _shift, _shift }, new[] { 1, 2 });
        x = Ops.AddInPlace(_dropPath.Forward(Ops.Reshape(h, b, l, c)), x);
        if (_sifa != null && _shift == 0)
        {
            var f = Ops.Reshape(Ops.Transpose(x, 1, 2), b, c, _res, _res);
            var agg = _sifa.Forward(f, frames) - f;
            x = Ops.AddInPlace(_tdaNorm!.Forward(Ops.Transpose(Ops.Reshape(agg, b, c, l), 1, 2)), x);
        }
        else if (_conv != null)
            x = Ops.AddInPlace(_conv.Forward(x, frames), x);
        return Ops.AddInPlace(_dropPath.Forward(_mlp.Forward(_norm2.Forward(x))), x);
    }
}

/// <summary>
/// The official <c>forward_vtc</c> conv: tokens (N·T, L, C) seen as (N, C, L, T) and convolved with a (C, C, 1, 3) kernel,
/// padding [0, 1], so each token mixes its own frames t−1, t, t+1 (zeros beyond the clip). Key <c>weight</c>; starts at zero.
/// </summary>
public sealed class TemporalConv : Module
{
    private static readonly Conv2dGeometry Geometry = new(1, 1, 0, 1, 1, 1, 1);

    /// <summary>Creates the conv with a zero kernel.</summary>
    /// <param name="dim">Channels C.</param>
    public TemporalConv(int dim) => Weight = RegisterParameter("weight", Tensor.Zeros(dim, dim, 1, 3));

    /// <summary>The kernel (C, C, 1, 3): output channel, input channel, 1, time tap (t−1, t, t+1).</summary>
    public Variable Weight { get; }

    /// <summary>The conv over each token's frames.</summary>
    /// <param name="x">Tokens (N·T, L, C).</param>
    /// <param name="frames">Frames per clip T.</param>
    /// <returns>The conv output, same shape as the tokens.</returns>
    public Variable Forward(Variable x, int frames)
    {
        int b = x.Shape[0], l = x.Shape[1], c = x.Shape[2], n = b / frames;
        var img = Ops.Contiguous(Ops.Permute(Ops.Reshape(x, n, frames, l, c), 0, 3, 2, 1));
        var y = Ops.Conv2d(img, Weight, null, Geometry);
        return Ops.Reshape(Ops.Contiguous(Ops.Permute(y, 0, 3, 2, 1)), b, l, c);
    }
}
