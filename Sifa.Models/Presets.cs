using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>Named model presets (<c>sifa-r50</c>, <c>swin-t</c>, <c>sifa-tiny</c>, ...).</summary>
public static class Presets
{
    /// <summary>All preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = new[]
    {
        "c2d-r50", "sifa-r50", "sifa-r101", "swin-t", "swin-s", "swin-b", "sifa-swin-t", "sifa-swin-s", "sifa-swin-b",
        "c2d-tiny", "sifa-tiny", "sifa-r50-official", "sifa-r101-official", "sifa-swin-b-official",
    };

    /// <summary>Builds a preset.</summary>
    /// <param name="name">Preset name.</param>
    /// <param name="numClasses">Classifier outputs.</param>
    /// <param name="stemStride">Temporal stem stride; null uses the preset's (4 for sifa-r50/c2d-r50, 1 otherwise).</param>
    /// <param name="image">Input resolution (Swin presets fix their token grid from it).</param>
    /// <param name="gen">Initialisation generator.</param>
    /// <returns>The model.</returns>
    public static VideoModel Create(string name, int numClasses = 400, int? stemStride = null, int image = 224, Generator? gen = null) =>
        Create(new ModelSpec { Preset = name, NumClasses = numClasses, StemStride = stemStride, Image = image }, gen);

    /// <summary>Builds a preset with the overrides of <paramref name="spec"/>.</summary>
    /// <exception cref="ArgumentException">The preset is unknown.</exception>
    public static VideoModel Create(ModelSpec spec, Generator? gen = null)
    {
        gen ??= new Generator(0);
        int numClasses = spec.NumClasses, image = spec.Image;
        int? stemStride = spec.StemStride;
        var sifa = spec.SifaOptionsFrom(new SifaOptions());
        int[] r50 = { 3, 4, 6, 3 }, r101 = { 3, 4, 23, 3 };
        int[]? Stages(int[]? preset) => spec.SifaStages ?? preset;
        ResNetConfig ResNet(int[] layers, int width, int[]? stages, int stride, float dropout = 0.5f) =>
            new(layers, width, numClasses, Stages(stages), sifa, stemStride ?? stride, dropout);
        SwinConfig Swin(int embed, int[] depths, int[] heads, float dp, bool withSifa) => new(image, 4, embed, depths, heads, 7, numClasses,
            Stages(withSifa ? null : Array.Empty<int>()), sifa, 4f, dp, stemStride ?? 1);
        return spec.Preset.ToLowerInvariant() switch
        {
            "c2d-r50" => new SifaResNet(ResNet(r50, 64, Array.Empty<int>(), 4), gen),
            "sifa-r50" => new SifaResNet(ResNet(r50, 64, null, 4), gen),
            "sifa-r101" => new SifaResNet(ResNet(r101, 64, null, 4), gen),
            "c2d-tiny" => new SifaResNet(ResNet(new[] { 1, 1, 1, 1 }, 16, Array.Empty<int>(), 1, 0.2f), gen),
            "sifa-tiny" => new SifaResNet(ResNet(new[] { 1, 1, 1, 1 }, 16, new[] { 2, 3, 4 }, 1, 0.2f), gen),
            "swin-t" => new SifaSwin(Swin(96, new[] { 2, 2, 6, 2 }, new[] { 3, 6, 12, 24 }, 0.2f, false), gen),
            "swin-s" => new SifaSwin(Swin(96, new[] { 2, 2, 18, 2 }, new[] { 3, 6, 12, 24 }, 0.3f, false), gen),
            "swin-b" => new SifaSwin(Swin(128, new[] { 2, 2, 18, 2 }, new[] { 4, 8, 16, 32 }, 0.5f, false), gen),
            "sifa-swin-t" => new SifaSwin(Swin(96, new[] { 2, 2, 6, 2 }, new[] { 3, 6, 12, 24 }, 0.2f, true), gen),
            "sifa-swin-s" => new SifaSwin(Swin(96, new[] { 2, 2, 18, 2 }, new[] { 3, 6, 12, 24 }, 0.3f, true), gen),
            "sifa-swin-b" => new SifaSwin(Swin(128, new[] { 2, 2, 18, 2 }, new[] { 4, 8, 16, 32 }, 0.5f, true), gen),
            "sifa-r50-official" or "sifa-r101-official" or "sifa-swin-b-official" => OfficialPresets.Create(spec, gen),
            _ => throw new ArgumentException($"unknown model '{spec.Preset}'; presets: {string.Join(", ", Names)}"),
        };
    }
}
