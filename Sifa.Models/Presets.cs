using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// Named model presets (<c>sifa-r50</c>, <c>swin-t</c>, <c>sifa-tiny</c>, ...). The architectures are built here; the
/// Table 1e baselines (<c>tconv-*</c>, <c>tsm-*</c>, <c>corr-*</c>) are named configs over them (<see cref="Derived"/>),
/// and every preset resolves to a full <see cref="ModelSpec"/> (<see cref="Resolve"/>) that rebuilds it.
/// </summary>
public static class Presets
{
    private static readonly string[] Architectures =
    {
        "c2d-r50", "sifa-r50", "sifa-r101", "swin-t", "swin-s", "swin-b", "sifa-swin-t", "sifa-swin-s", "sifa-swin-b",
        "c2d-tiny", "sifa-tiny", "sifa-r50-official", "sifa-r101-official", "sifa-swin-b-official",
    };

    /// <summary>
    /// The presets that are a config over another: the temporal-modelling baselines of paper Table 1e on the same
    /// network and stages as SIFA (ResNet-50, and the tiny one of synthetic-motion). <c>corr-*</c> equals
    /// <c>--sifa-variant sifa-c</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, ModelSpec> Derived { get; } = new Dictionary<string, ModelSpec>
    {
        ["tconv-r50"] = new() { Preset = "sifa-r50", TemporalBlock = TemporalBlock.TemporalConv },
        ["tsm-r50"] = new() { Preset = "sifa-r50", TemporalBlock = TemporalBlock.TemporalShift },
        ["corr-r50"] = new() { Preset = "sifa-r50", TemporalBlock = TemporalBlock.Correlation },
        ["tconv-tiny"] = new() { Preset = "sifa-tiny", TemporalBlock = TemporalBlock.TemporalConv },
        ["tsm-tiny"] = new() { Preset = "sifa-tiny", TemporalBlock = TemporalBlock.TemporalShift },
        ["corr-tiny"] = new() { Preset = "sifa-tiny", TemporalBlock = TemporalBlock.Correlation },
    };

    /// <summary>All preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = Architectures.Concat(Derived.Keys).ToArray();

    /// <summary>Builds a preset.</summary>
    /// <param name="name">Preset name.</param>
    /// <param name="numClasses">Classifier outputs.</param>
    /// <param name="stemStride">Temporal stem stride; null uses the preset's (4 for sifa-r50/c2d-r50, 1 otherwise).</param>
    /// <param name="image">Input resolution (Swin presets fix their token grid from it).</param>
    /// <param name="gen">Initialisation generator.</param>
    /// <returns>The model.</returns>
    public static VideoModel Create(string name, int numClasses = 400, int? stemStride = null, int image = 224, Generator? gen = null) =>
        Create(new ModelSpec { Preset = name, NumClasses = numClasses, StemStride = stemStride, Image = image }, gen);

    /// <summary>
    /// <paramref name="spec"/> with every override filled in from its preset (a derived preset's settings first, then
    /// the architecture's defaults), validated: the full config that rebuilds the same model, as <c>sifa models</c>
    /// prints it. <see cref="ModelSpec.Preset"/> stays the name given.
    /// </summary>
    /// <exception cref="ArgumentException">The preset is unknown or a value does not fit it.</exception>
    public static ModelSpec Resolve(ModelSpec spec)
    {
        var name = spec.Preset.ToLowerInvariant();
        var basis = Derived.TryGetValue(name, out var derived) ? spec.Over(derived) : spec with { Preset = name };
        if (!Architectures.Contains(basis.Preset))
            throw new ArgumentException($"unknown model '{spec.Preset}'; presets: {string.Join(", ", Names)}");
        basis.Validate();
        if (OfficialPresets.Names.Contains(basis.Preset))
        {
            // The official networks keep their own stage layout (null stages: theirs) and take SIFA blocks only.
            var official = basis.SifaOptionsFrom(OfficialPresets.DefaultSifa(basis.Preset));
            if (official.Block != TemporalBlock.Sifa)
                throw new ArgumentException($"temporal_block (--temporal-block) {ModelSpec.Kebab(official.Block)} is for the paper's ResNet presets; {basis.Preset} takes SIFA blocks only");
            return basis with
            {
                Preset = name, StemStride = basis.StemStride ?? OfficialPresets.DefaultStemStride, SifaK = official.K,
                SifaOffsets = official.Offsets, SifaLastFrame = official.LastFrame, SifaVariant = null, TemporalBlock = null,
            };
        }
        bool swin = basis.Preset.Contains("swin", StringComparison.Ordinal), resnet50 = basis.Preset is "c2d-r50" or "sifa-r50" or "sifa-r101";
        int[] stages = basis.Preset switch
        {
            "c2d-r50" or "c2d-tiny" or "swin-t" or "swin-s" or "swin-b" => Array.Empty<int>(),
            "sifa-swin-t" or "sifa-swin-s" or "sifa-swin-b" => new[] { 1, 2, 3, 4 },
            _ => new[] { 2, 3, 4 },
        };
        var sifa = basis.SifaOptionsFrom(new SifaOptions());
        var chosen = basis.SifaStages ?? stages;
        if (chosen.Length == 0)
        {
            // Nothing silent: a block setting on a network without temporal-block stages would change nothing.
            string? given = basis.SifaK != null ? "sifa_k (--sifa-k)" : basis.SifaOffsets != null ? "sifa_offsets (--sifa-offsets)"
                : basis.SifaLastFrame != null ? "sifa_last_frame (--sifa-last-frame)" : basis.SifaVariant != null ? "sifa_variant (--sifa-variant)"
                : basis.TemporalBlock != null ? "temporal_block (--temporal-block)" : null;
            if (given != null) throw new ArgumentException($"{given} has no effect: {name} has no stages with a temporal block (set sifa_stages / --sifa-stages)");
            return basis with { Preset = name, StemStride = basis.StemStride ?? (resnet50 ? 4 : 1), SifaStages = chosen };
        }
        if (swin && sifa.Block != TemporalBlock.Sifa)
            throw new ArgumentException($"temporal_block (--temporal-block) {ModelSpec.Kebab(sifa.Block)} is for the ResNet presets; {basis.Preset} takes SIFA blocks only");
        bool hasSifa = sifa.Block == TemporalBlock.Sifa, hasGrid = sifa.Block is TemporalBlock.Sifa or TemporalBlock.Correlation;
        return basis with
        {
            Preset = name,
            StemStride = basis.StemStride ?? (resnet50 ? 4 : 1),
            SifaStages = chosen,
            SifaK = hasGrid ? sifa.K : null,
            SifaOffsets = hasSifa ? sifa.Offsets : null,
            SifaLastFrame = hasGrid ? sifa.LastFrame : null,
            SifaVariant = null,
            TemporalBlock = sifa.Block,
        };
    }

    /// <summary>Builds a preset with the overrides of <paramref name="spec"/>.</summary>
    /// <exception cref="ArgumentException">The preset is unknown or an override does not fit it.</exception>
    public static VideoModel Create(ModelSpec spec, Generator? gen = null)
    {
        gen ??= new Generator(0);
        var full = Resolve(spec);
        if (OfficialPresets.Names.Contains(full.Preset)) return OfficialPresets.Create(full, gen);
        var arch = Derived.TryGetValue(full.Preset, out var d) ? d.Preset : full.Preset;
        int numClasses = full.NumClasses, image = full.Image, stride = full.StemStride!.Value;
        int[] stages = full.SifaStages!;
        var sifa = full.SifaOptionsFrom(new SifaOptions());
        int[] r50 = { 3, 4, 6, 3 }, r101 = { 3, 4, 23, 3 }, tiny = { 1, 1, 1, 1 };
        ResNetConfig ResNet(int[] layers, int width, float dropout = 0.5f) => new(layers, width, numClasses, stages, sifa, stride, dropout);
        SwinConfig Swin(int embed, int[] depths, int[] heads, float dp) => new(image, 4, embed, depths, heads, 7, numClasses, stages, sifa, 4f, dp, stride);
        return arch switch
        {
            "c2d-r50" or "sifa-r50" => new SifaResNet(ResNet(r50, 64), gen),
            "sifa-r101" => new SifaResNet(ResNet(r101, 64), gen),
            "c2d-tiny" or "sifa-tiny" => new SifaResNet(ResNet(tiny, 16, 0.2f), gen),
            "swin-t" or "sifa-swin-t" => new SifaSwin(Swin(96, new[] { 2, 2, 6, 2 }, new[] { 3, 6, 12, 24 }, 0.2f), gen),
            "swin-s" or "sifa-swin-s" => new SifaSwin(Swin(96, new[] { 2, 2, 18, 2 }, new[] { 3, 6, 12, 24 }, 0.3f), gen),
            "swin-b" or "sifa-swin-b" => new SifaSwin(Swin(128, new[] { 2, 2, 18, 2 }, new[] { 4, 8, 16, 32 }, 0.5f), gen),
            _ => throw new ArgumentException($"unknown model '{spec.Preset}'; presets: {string.Join(", ", Names)}"),
        };
    }
}
