using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>Configuration of a (SIFA-)ResNet video model.</summary>
/// <param name="Layers">Bottlenecks per stage ([3,4,6,3] for depth 50, [3,4,23,3] for 101).</param>
/// <param name="Width">Base width (64).</param>
/// <param name="NumClasses">Classifier outputs.</param>
/// <param name="SifaStages">Stages (1-based) whose bottlenecks get a SIFA block; empty for C2D.</param>
/// <param name="Sifa">SIFA block options.</param>
/// <param name="StemStride">Temporal stride s of the stem (a [s,7,7] conv with stride [s,2,2]).</param>
/// <param name="Dropout">Dropout before the classifier.</param>
public sealed record ResNetConfig(int[] Layers, int Width = 64, int NumClasses = 400, int[]? SifaStages = null,
    SifaOptions? Sifa = null, int StemStride = 1, float Dropout = 0.5f) : IVideoModelConfig
{
    /// <summary>The stages with SIFA (default res3–res5).</summary>
    public int[] Stages => SifaStages ?? new[] { 2, 3, 4 };
}

/// <summary>
/// SIFA-Net (paper section 3.3, Figure 4a; SPEC section 4): a 2D ResNet over every frame with SIFA blocks in
/// the bottlenecks of <see cref="ResNetConfig.SifaStages"/>; with no SIFA stage it is the C2D baseline.
/// Parameter names are torchvision's, so ImageNet checkpoints load by key.
/// </summary>
public sealed class SifaResNet : VideoModel<ResNetConfig>
{
    private readonly StemConv _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly List<ModuleList<Bottleneck>> _stages = new();
    private readonly Dropout _dropout;
    private readonly Linear _fc;

    /// <summary>Builds the network.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="gen">Initialisation generator (seeded for reproducibility).</param>
    public SifaResNet(ResNetConfig config, Generator? gen = null) : base(config)
    {
        gen ??= new Generator(0);
        int s = config.StemStride;
        _conv1 = RegisterModule("conv1", new StemConv(config.Width, 7, stride: 2, padding: 3, temporalStride: s, bias: false, gen: gen));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(config.Width));
        int inplanes = config.Width;
        for (int i = 0; i < config.Layers.Length; i++)
        {
            int planes = config.Width << i, stride = i == 0 ? 1 : 2;
            var blocks = new ModuleList<Bottleneck>();
            var sifa = SifaOf(i + 1);
            for (int j = 0; j < config.Layers[i]; j++)
            {
                bool ds = j == 0 && (stride != 1 || inplanes != planes * Bottleneck.Expansion);
                blocks.Add(new Bottleneck(inplanes, planes, j == 0 ? stride : 1, ds, sifa, gen));
                inplanes = planes * Bottleneck.Expansion;
            }
            _stages.Add(RegisterModule($"layer{i + 1}", blocks));
        }
        _dropout = RegisterModule("dropout", new Dropout(config.Dropout, gen.Fork()));
        _fc = RegisterModule("fc", new Linear(gen, inplanes, config.NumClasses));
        // torchvision: Kaiming normal (fan-out) for every conv; SIFA offset convs and the other temporal blocks' learnt
        // parts keep their zero start.
        foreach (var (name, p) in NamedParameters())
            if (p.Rank >= 4 && !TemporalBlocks.StartsAtZero(name))
                Init.KaimingNormalFanOut(p.Data, gen);
    }

    /// <inheritdoc/>
    protected override Variable Logits(Variable groups, int clips, int frames)
    {
        var x = Ops.MaxPool2d(_bn1.ForwardRelu(_conv1.Forward(groups)), 3, 2, 1);
        foreach (var stage in _stages)
            foreach (var blk in stage)
                x = blk.Forward(x, frames);
        int c = x.Shape[1];
        var pooled = Ops.Mean(Ops.Reshape(x, clips, frames, c, -1), new[] { 1, 3 });
        return _fc.Forward(_dropout.Forward(pooled));
    }
}
