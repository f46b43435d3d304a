using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Models;

/// <summary>Configuration of the official SIFA-Net (FuchenUSTC/SIFA, <c>model/c2d_sifa_resnet.py</c>).</summary>
/// <param name="Layers">Bottlenecks per stage ([3,4,6,3] for depth 50, [3,4,23,3] for 101).</param>
/// <param name="Width">Base width (64).</param>
/// <param name="NumClasses">Classifier outputs (both heads).</param>
/// <param name="SifaStages">Stages (1-based) whose blocks alternate global-context (even index) and SIFA (odd index) bottlenecks; default 2, 3, 4. The dual branch follows stage 4.</param>
/// <param name="Sifa">SIFA options (default: k 3, the official motion saliency map, no aggregation into the last frame).</param>
/// <param name="StemStride">Temporal stride s of the stem (official: 4).</param>
/// <param name="Dropout">Dropout before each classifier (official: 0.5).</param>
public sealed record OfficialResNetConfig(int[] Layers, int Width = 64, int NumClasses = 400, int[]? SifaStages = null,
    SifaOptions? Sifa = null, int StemStride = 4, float Dropout = 0.5f) : IVideoModelConfig
{
    /// <summary>The official SIFA options: k 3, <see cref="OffsetSource.MsmOfficial"/>, <see cref="LastFrame.None"/>.</summary>
    public static SifaOptions OfficialSifa { get; } = new(Offsets: OffsetSource.MsmOfficial, LastFrame: LastFrame.None);

    /// <summary>The stages with alternating G/S blocks (default res3–res5).</summary>
    public int[] Stages => SifaStages ?? new[] { 2, 3, 4 };
}

/// <summary>
/// The official SIFA-Net (SPEC section 8): a 2D ResNet over frame groups whose stages 2–4 alternate global-context
/// bottlenecks (<see cref="GlobalContextBottleneck"/>) and SIFA bottlenecks ([G,S,G,S], [G,S,G,S,G,S], [G,S,G]), plus a
/// second head: <c>layer4_dual</c> (a stride-1 copy of layer 4) on layer 3's output max-pooled over pairs of frames, then
/// <c>fc_dual</c>. Training loss CE(fc) + CE(fc_dual) (<see cref="ITrainingLoss"/>); <see cref="VideoModel.Forward"/>
/// returns log of the mean of the two softmaxes, the official test score. Keys are this project's (the SIFA offset conv
/// under <c>sifa.offset_conv</c>, 4-D conv kernels); <see cref="OfficialKeys"/> maps the official state-dict layout.
/// </summary>
public sealed class OfficialSifaResNet : VideoModel<OfficialResNetConfig>, ITrainingLoss, IOfficialLayout
{
    private readonly StemConv _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly List<ModuleList<Module>> _stages = new();
    private readonly ModuleList<Module> _layer4Dual;
    private readonly Dropout _drop, _dropDual;
    private readonly Linear _fc, _fcDual;

    /// <summary>Builds the network with the official initialisation.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="gen">Initialisation generator.</param>
    public OfficialSifaResNet(OfficialResNetConfig config, Generator? gen = null) : base(config)
    {
        gen ??= new Generator(0);
        if (config.Layers.Length != 4) throw new ArgumentException($"the official SIFA-Net has 4 stages, got {config.Layers.Length}");
        int w = config.Width;
        _conv1 = RegisterModule("conv1", new StemConv(w, 7, stride: 2, padding: 3, temporalStride: config.StemStride, bias: false, gen: gen));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(w));
        int inplanes = w;
        for (int i = 0; i < 4; i++)
        {
            _stages.Add(RegisterModule($"layer{i + 1}", Stage(ref inplanes, w << i, config.Layers[i], i == 0 ? 1 : 2, i + 1, gen)));
        }
        int dualIn = (w << 2) * Bottleneck.Expansion;
        _layer4Dual = RegisterModule("layer4_dual", Stage(ref dualIn, w << 3, config.Layers[3], 1, 4, gen));
        _drop = RegisterModule("drop", new Dropout(config.Dropout, gen.Fork()));
        _dropDual = RegisterModule("drop_dual", new Dropout(config.Dropout, gen.Fork()));
        _fc = RegisterModule("fc", new Linear(gen, inplanes, config.NumClasses));
        _fcDual = RegisterModule("fc_dual", new Linear(gen, dualIn, config.NumClasses));
        // The official init: Kaiming normal (fan-out) for every conv, the SIFA offset conv included (its zero init is
        // overwritten); the last BN of every bottleneck starts at zero (zero_init_residual); linears keep PyTorch's default.
        foreach (var (name, p) in NamedParameters())
        {
            if (p.Rank >= 4) Init.KaimingNormalFanOut(p.Data, gen);
            else if (name.EndsWith(".bn3.weight", StringComparison.Ordinal)) p.Data.Fill_(0f);
        }
    }

    private ModuleList<Module> Stage(ref int inplanes, int planes, int blocks, int stride, int stage, Generator gen)
    {
        var list = new ModuleList<Module>();
        bool alternate = Config.Stages.Contains(stage);
        var sifa = Config.Sifa ?? OfficialResNetConfig.OfficialSifa;
        for (int j = 0; j < blocks; j++)
        {
            int s = j == 0 ? stride : 1;
            bool ds = j == 0 && (stride != 1 || inplanes != planes * Bottleneck.Expansion);
            list.Add(!alternate ? new Bottleneck(inplanes, planes, s, ds, null, gen)
                : j % 2 == 0 ? new GlobalContextBottleneck(inplanes, planes, s, ds, gen)
                : new Bottleneck(inplanes, planes, s, ds, sifa, gen));
            inplanes = planes * Bottleneck.Expansion;
        }
        return list;
    }

    /// <inheritdoc/>
    public bool KeptAtInitWhenMissing(string key) => OfficialKeys.IsGlobalContext(key) || key.Contains(".sifa.", StringComparison.Ordinal);

    /// <summary>The logits of both heads, <c>fc</c> and <c>fc_dual</c>, for clips (N, T, 3, H, W).</summary>
    /// <param name="clip">The clips.</param>
    /// <returns>Both heads' logits (N, classes).</returns>
    /// <exception cref="ArgumentException">The clips have the wrong shape, or too few frames for the dual branch.</exception>
    public (Variable Main, Variable Dual) Heads(Variable clip)
    {
        if (clip.Rank != 5 || clip.Shape[2] != 3)
            throw new ArgumentException($"{GetType().Name} expects clips (N, T, 3, H, W), got {Tensor.Fmt(clip.Shape)}");
        return Heads(StemConv.GroupFrames(clip, TemporalStride), clip.Shape[0], clip.Shape[1] / TemporalStride);
    }

    /// <inheritdoc/>
    public TrainingOutput TrainingLoss(Variable clip, int[] labels, float labelSmoothing)
    {
        var (main, dual) = Heads(clip);
        return new TrainingOutput(DualHead.Loss(main, dual, labels, labelSmoothing), DualHead.LogMeanSoftmax(main, dual));
    }

    /// <inheritdoc/>
    protected override Variable Logits(Variable groups, int clips, int frames)
    {
        var (main, dual) = Heads(groups, clips, frames);
        return DualHead.LogMeanSoftmax(main, dual);
    }

    private (Variable Main, Variable Dual) Heads(Variable groups, int clips, int frames)
    {
        if (frames < 2)
            throw new ArgumentException($"the official SIFA-Net's dual head pools pairs of feature frames: it needs at least {2 * TemporalStride} frames (stem stride {TemporalStride}), got {frames * TemporalStride}");
        var x = Ops.MaxPool2d(_bn1.ForwardRelu(_conv1.Forward(groups)), 3, 2, 1);
        for (int i = 0; i < 3; i++) x = RunStage(_stages[i], x, frames);
        var main = RunStage(_stages[3], x, frames);
        var dual = RunStage(_layer4Dual, TemporalMaxPool(x, clips, frames), frames / 2);
        return (_fc.Forward(_drop.Forward(ClipMean(main, clips, frames))), _fcDual.Forward(_dropDual.Forward(ClipMean(dual, clips, frames / 2))));
    }

    private static Variable RunStage(ModuleList<Module> stage, Variable x, int frames)
    {
        foreach (var blk in stage)
            x = blk is GlobalContextBottleneck g ? g.Forward(x, frames) : ((Bottleneck)blk).Forward(x, frames);
        return x;
    }

    private static Variable ClipMean(Variable x, int clips, int frames) =>
        Ops.Mean(Ops.Reshape(x, clips, frames, x.Shape[1], -1), new[] { 1, 3 });

    /// <summary>
    /// MaxPool3d([2,1,1], stride [2,1,1]) over each clip's frames (N·T, C, H, W) → (N·⌊T/2⌋, C, H, W); an odd last frame
    /// is dropped, as PyTorch's floor mode does. Exact (an element-wise max), and a tie's gradient goes to the first
    /// frame of the pair, as PyTorch's max pooling sends it.
    /// </summary>
    /// <param name="x">Frames.</param>
    /// <param name="clips">Clips N.</param>
    /// <param name="frames">Frames per clip T.</param>
    /// <returns>Pooled frames.</returns>
    public static Variable TemporalMaxPool(Variable x, int clips, int frames)
    {
        int half = frames / 2, c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var v = Ops.Reshape(x, clips, frames, c * h * w);
        if (frames % 2 != 0) v = Ops.Narrow(v, 1, 0, 2 * half);
        var pairs = Ops.Reshape(Ops.Contiguous(v), clips, half, 2, c * h * w);
        var a = Ops.Contiguous(Ops.Narrow(pairs, 2, 0, 1));
        var b = Ops.Contiguous(Ops.Narrow(pairs, 2, 1, 1));
        Tensor ta = a.Data, tb = b.Data;
        var y = Variable.FromOp(ta.Zip(tb, new MaxOp()), "temporal_max_pool", new[] { a, b }, g =>
        {
            var ga = g.Contiguous().Zip(ta.Zip(tb, new FirstIsMaxOp()), new MulOp());
            return new Tensor?[] { ga, g.Contiguous().Zip(ga, new SubOp()) };
        });
        return Ops.Reshape(y, clips * half, c, h, w);
    }
}

/// <summary>
/// 1 where a is the maximum of (a, b) — ties and a NaN a included, so the first wins as in PyTorch's max pooling — else 0.
/// Public because the GPU backend compiles element-wise op structs into its kernels.
/// </summary>
public readonly struct FirstIsMaxOp : IBinaryOp
{
    /// <inheritdoc/>
    public float Apply(float a, float b) => a >= b || float.IsNaN(a) ? 1f : 0f;
}
