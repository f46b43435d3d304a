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
    float DropPath = 0.2f, int StemStride = 1)
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
public sealed class SifaSwin : Module, IVideoModel
{
    private readonly StemConv _proj;
    private readonly LayerNorm _embedNorm;
    private readonly List<(List<SwinBlock> blocks, PatchMerging? down)> _stages = new();
    private readonly LayerNorm _norm;
    private readonly Linear _head;

    /// <summary>Builds the network.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="gen">Initialisation generator.</param>
    public SifaSwin(SwinConfig config, Generator? gen = null)
    {
        gen ??= new Generator(0);
        Config = config;
        var depths = config.StageDepths;
        var heads = config.StageHeads;
        var embed = Add("patch_embed", new Module());
        _proj = embed.Add("proj", new StemConv(config.Embed, config.Patch, config.Patch, 0, config.StemStride, bias: true, gen: gen));
        _embedNorm = embed.Add("norm", new LayerNorm(config.Embed));
        int res = config.Image / config.Patch, total = depths.Sum(), bi = 0;
        var layers = Add("layers", new ModuleList());
        for (int i = 0; i < depths.Length; i++)
        {
            int dim = config.Embed << i, r = res >> i;
            var layer = new Module();
            layers.Add(layer);
            var blocksList = layer.Add("blocks", new ModuleList());
            var blocks = new List<SwinBlock>();
            var sifa = config.Stages.Contains(i + 1) ? config.Sifa ?? new SifaOptions() : null;
            for (int j = 0; j < depths[i]; j++, bi++)
            {
                float dp = total > 1 ? config.DropPath * bi / (total - 1) : 0f;
                var blk = new SwinBlock(dim, r, r, heads[i], config.Window, j % 2 == 0 ? 0 : config.Window / 2, config.MlpRatio, dp, sifa, gen);
                blocksList.Add(blk);
                blocks.Add(blk);
            }
            var down = i < depths.Length - 1 ? layer.Add("downsample", new PatchMerging(r, r, dim, gen)) : null;
            _stages.Add((blocks, down));
        }
        NumFeatures = config.Embed << (depths.Length - 1);
        _norm = Add("norm", new LayerNorm(NumFeatures));
        _head = Add("head", new Linear(NumFeatures, config.NumClasses, gen: gen));
        // Swin's init: truncated normal (std 0.02) for linear weights, zero biases.
        foreach (var m in NamedModules())
            if (m.Module is Linear lin)
            {
                Init.TruncNormal(lin.Weight.Data, gen, 0.02f);
                lin.Bias?.Data.Fill_(0f);
            }
    }

    /// <summary>The configuration.</summary>
    public SwinConfig Config { get; }

    /// <summary>Channels of the last stage.</summary>
    public int NumFeatures { get; }

    /// <inheritdoc/>
    public int TemporalStride => Config.StemStride;

    /// <summary>Logits (N, classes) for clips (N, T, 3, H, W).</summary>
    /// <param name="clip">The clips.</param>
    /// <returns>The logits.</returns>
    public Variable Forward(Variable clip)
    {
        if (clip.Rank != 5 || clip.Shape[2] != 3 || clip.Shape[3] != Config.Image || clip.Shape[4] != Config.Image)
            throw new ArgumentException($"SifaSwin expects clips (N, T, 3, {Config.Image}, {Config.Image}), got {Tensor.Fmt(clip.Shape)}");
        int n = clip.Shape[0], tf = clip.Shape[1] / Config.StemStride;
        var p = _proj.Forward(StemConv.GroupFrames(clip, Config.StemStride)); // (B, C, H', W')
        int b = p.Shape[0], c = p.Shape[1];
        var x = _embedNorm.Forward(Ops.Transpose(Ops.Reshape(p, b, c, -1), 1, 2));
        foreach (var (blocks, down) in _stages)
        {
            foreach (var blk in blocks) x = blk.Forward(x, tf);
            if (down != null) x = down.Forward(x);
        }
        x = _norm.Forward(x);
        var pooled = Ops.Mean(Ops.Reshape(x, n, -1, x.Shape[2]), new[] { 1 });
        return _head.Forward(pooled);
    }
}
