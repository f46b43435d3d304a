using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>Configuration of a (SIFA-)Swin video model.</summary>
/// <param name="Image">Input resolution.</param>
/// <param name="Patch">Patch size.</param>
/// <param name="Embed">Embedding width C.</param>
/// <param name="Depths">Blocks per stage.</param>
/// <param name="Heads">Heads per stage.</param>
/// <param name="Window">Window size.</param>
/// <param name="NumClasses">Classifier outputs.</param>
/// <param name="SifaStages">Stages (1-based) with SIFA in their regular-window blocks; empty for plain Swin. Null: all.</param>
/// <param name="Sifa">SIFA options.</param>
/// <param name="MlpRatio">MLP hidden ratio.</param>
/// <param name="DropPath">Stochastic depth rate (increases linearly over the blocks, as in Swin).</param>
/// <param name="StemStride">Temporal stride s of the patch embedding.</param>
public sealed record SwinConfig(int Image = 224, int Patch = 4, int Embed = 96, int[]? Depths = null, int[]? Heads = null,
    int Window = 7, int NumClasses = 400, int[]? SifaStages = null, SifaOptions? Sifa = null, float MlpRatio = 4f,
    float DropPath = 0.2f, int StemStride = 1) : IVideoModelConfig
{
    /// <summary>Blocks per stage (default Swin-T's).</summary>
    public int[] StageDepths => Depths ?? new[] { 2, 2, 6, 2 };

    /// <summary>Heads per stage (default Swin-T's).</summary>
    public int[] StageHeads => Heads ?? new[] { 3, 6, 12, 24 };

    /// <summary>The stages with SIFA (default all).</summary>
    public int[] Stages => SifaStages ?? Enumerable.Range(1, StageDepths.Length).ToArray();
}

/// <summary>
/// SIFA-Transformer (paper section 3.3, Figure 4b; SPEC section 5): a 2D Swin Transformer over every frame with
/// SIFA in the regular-window blocks of the SIFA stages. Keys follow the official Swin code.
/// </summary>
public sealed class SifaSwin : VideoModel<SwinConfig>
{
    private readonly PatchEmbed _patchEmbed;
    private readonly ModuleList<SwinLayer> _layers;
    private readonly LayerNorm _norm;
    private readonly Linear _head;

    /// <summary>Builds the network.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="gen">Initialisation generator.</param>
    public SifaSwin(SwinConfig config, Generator? gen = null) : base(config)
    {
        gen ??= new Generator(0);
        var depths = config.StageDepths;
        var heads = config.StageHeads;
        if (heads.Length != depths.Length) throw new ArgumentException($"{depths.Length} stages but {heads.Length} head counts");
        _patchEmbed = RegisterModule("patch_embed", new PatchEmbed(config.Patch, config.Embed, config.StemStride, gen));
        int res = config.Image / config.Patch, total = depths.Sum(), first = 0;
        _layers = RegisterModule("layers", new ModuleList<SwinLayer>());
        for (int i = 0; i < depths.Length; i++)
        {
            int dim = config.Embed << i, r = res >> i;
            var dpr = Enumerable.Range(first, depths[i]).Select(bi => total > 1 ? config.DropPath * bi / (total - 1) : 0f).ToArray();
            var sifa = SifaOf(i + 1);
            _layers.Add(new SwinLayer(dim, r, depths[i], heads[i], config.Window, config.MlpRatio, dpr, i < depths.Length - 1, sifa, gen));
            first += depths[i];
        }
        NumFeatures = config.Embed << (depths.Length - 1);
        _norm = RegisterModule("norm", new LayerNorm(NumFeatures));
        _head = RegisterModule("head", new Linear(gen, NumFeatures, config.NumClasses));
        // Swin's init: truncated normal (std 0.02) for linear weights, zero biases.
        foreach (var (_, m) in NamedModules())
            if (m is Linear lin)
            {
                Init.TruncNormal(lin.Weight.Data, gen, 0.02f);
                lin.Bias?.Data.Fill_(0f);
            }
    }

    /// <summary>Channels of the last stage.</summary>
    public int NumFeatures { get; }

    /// <inheritdoc/>
    protected override bool AcceptsFrames(int height, int width) => height == Config.Image && width == Config.Image;

    /// <inheritdoc/>
    protected override string FrameShape => $"{Config.Image}, {Config.Image}";

    /// <inheritdoc/>
    protected override Variable Logits(Variable groups, int clips, int frames)
    {
        var x = _patchEmbed.Forward(groups);
        foreach (var layer in _layers) x = layer.Forward(x, frames);
        x = _norm.Forward(x);
        var pooled = Ops.Mean(Ops.Reshape(x, clips, -1, x.Shape[2]), new[] { 1 });
        return _head.Forward(pooled);
    }
}

/// <summary>Patch embedding: a patch×patch conv with stride patch (temporal stride s on frame groups), then LayerNorm. Keys <c>proj</c>, <c>norm</c>.</summary>
public sealed class PatchEmbed : Module
{
    private readonly StemConv _proj;
    private readonly LayerNorm _norm;

    /// <summary>Creates the embedding.</summary>
    /// <param name="patch">Patch size.</param>
    /// <param name="dim">Embedding width.</param>
    /// <param name="temporalStride">Frames per group s.</param>
    /// <param name="gen">Initialisation generator.</param>
    public PatchEmbed(int patch, int dim, int temporalStride, Generator gen)
    {
        _proj = RegisterModule("proj", new StemConv(dim, patch, patch, 0, temporalStride, bias: true, gen: gen));
        _norm = RegisterModule("norm", new LayerNorm(dim));
    }

    /// <summary>(B, 3s, H, W) → tokens (B, H/p·W/p, C).</summary>
    /// <param name="x">Frame groups.</param>
    /// <returns>Tokens.</returns>
    public Variable Forward(Variable x)
    {
        var p = _proj.Forward(x);
        int b = p.Shape[0], c = p.Shape[1];
        return _norm.Forward(Ops.Transpose(Ops.Reshape(p, b, c, -1), 1, 2));
    }
}

/// <summary>One Swin stage: blocks alternating regular and shifted windows, then optional patch merging. Keys <c>blocks.{j}</c>, <c>downsample</c>.</summary>
public sealed class SwinLayer : Module
{
    private readonly ModuleList<SwinBlock> _blocks;
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
    /// <param name="sifa">SIFA options for this stage, or null.</param>
    /// <param name="gen">Initialisation generator.</param>
    public SwinLayer(int dim, int res, int depth, int heads, int window, float mlpRatio, float[] dropPath, bool downsample, SifaOptions? sifa, Generator gen)
    {
        _blocks = RegisterModule("blocks", new ModuleList<SwinBlock>());
        for (int j = 0; j < depth; j++)
            _blocks.Add(new SwinBlock(dim, res, res, heads, window, j % 2 == 0 ? 0 : window / 2, mlpRatio, dropPath[j], sifa, gen));
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
