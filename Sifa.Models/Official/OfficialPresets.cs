using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// The presets of the official networks (docs/official.md): <c>sifa-r50-official</c>, <c>sifa-r101-official</c>
/// (<see cref="OfficialSifaResNet"/>, stem stride 4) and <c>sifa-swin-b-official</c> (<see cref="OfficialSifaSwin"/>,
/// stem stride 4). Overrides of a <see cref="ModelSpec"/> apply as for the paper's presets (k, stages, offsets, last frame,
/// stem stride), starting from the official SIFA options.
/// </summary>
public static class OfficialPresets
{
    /// <summary>The official preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "sifa-r50-official", "sifa-r101-official", "sifa-swin-b-official" };

    /// <summary>The SIFA options an official preset starts from (what a spec's null overrides keep).</summary>
    /// <param name="name">An official preset name.</param>
    /// <returns>The options: the official motion saliency map and no last-frame aggregation (SIFA-Net), zero offsets (Swin).</returns>
    public static SifaOptions DefaultSifa(string name) =>
        name.Contains("swin", StringComparison.OrdinalIgnoreCase) ? OfficialSwinConfig.OfficialSifa : OfficialResNetConfig.OfficialSifa;

    /// <summary>The temporal stem stride an official preset starts from (4: 16 input frames become 4 feature frames).</summary>
    public const int DefaultStemStride = 4;

    /// <summary>Builds an official preset.</summary>
    /// <param name="spec">The spec (its preset must be an official one).</param>
    /// <param name="gen">Initialisation generator.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">The preset is not an official one.</exception>
    public static VideoModel Create(ModelSpec spec, Generator? gen = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        gen ??= new Generator(0);
        return spec.Preset.ToLowerInvariant() switch
        {
            "sifa-r50-official" => ResNet(spec, new[] { 3, 4, 6, 3 }, gen),
            "sifa-r101-official" => ResNet(spec, new[] { 3, 4, 23, 3 }, gen),
            "sifa-swin-b-official" => new OfficialSifaSwin(new OfficialSwinConfig(spec.Image, 4, 128, new[] { 2, 2, 18, 2 }, new[] { 4, 8, 16, 32 },
                7, spec.NumClasses, spec.SifaStages, spec.SifaOptionsFrom(OfficialSwinConfig.OfficialSifa), 4f, 0.5f, 0.5f, spec.StemStride ?? 4), gen),
            _ => throw new ArgumentException($"'{spec.Preset}' is not an official preset"),
        };
    }

    private static OfficialSifaResNet ResNet(ModelSpec spec, int[] layers, Generator gen) =>
        new(new OfficialResNetConfig(layers, 64, spec.NumClasses, spec.SifaStages, spec.SifaOptionsFrom(OfficialResNetConfig.OfficialSifa),
            spec.StemStride ?? 4), gen);
}
