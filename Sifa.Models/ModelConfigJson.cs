using System.Text.Json;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// Builds a model from the JSON configuration the PyTorch reference writes into golden files and checkpoint
/// fixtures (<c>{"model": "sifa_resnet" | "sifa_swin", "layers", "width", "num_classes", "sifa": {"k"}, "sifa_stages",
/// "image", "patch", "embed", "depths", "heads", "window", "stem_stride"}</c>). Dropout and drop path are 0, as in
/// those files. A field of the wrong JSON type fails naming the field (absent or null fields take the defaults).
/// </summary>
public static class ModelConfigJson
{
    /// <summary>Builds the described model, with optional overrides.</summary>
    /// <param name="json">The configuration.</param>
    /// <param name="stemStride">Overrides <c>stem_stride</c>.</param>
    /// <param name="sifaStages">Overrides <c>sifa_stages</c>.</param>
    /// <param name="numClasses">Overrides <c>num_classes</c>.</param>
    /// <param name="gen">Initialisation generator.</param>
    /// <returns>The model.</returns>
    public static VideoModel Build(string json, int? stemStride = null, int[]? sifaStages = null, int? numClasses = null, Generator? gen = null)
    {
        using var doc = JsonDocument.Parse(json);
        return Build(doc.RootElement, stemStride, sifaStages, numClasses, gen);
    }

    /// <summary>Builds the described model from a parsed configuration.</summary>
    /// <param name="cfg">The configuration object.</param>
    /// <param name="stemStride">Overrides <c>stem_stride</c>.</param>
    /// <param name="sifaStages">Overrides <c>sifa_stages</c>.</param>
    /// <param name="numClasses">Overrides <c>num_classes</c>.</param>
    /// <param name="gen">Initialisation generator.</param>
    /// <returns>The model.</returns>
    /// <exception cref="InvalidDataException">A field has the wrong JSON type, or the model is unknown.</exception>
    public static VideoModel Build(JsonElement cfg, int? stemStride = null, int[]? sifaStages = null, int? numClasses = null, Generator? gen = null)
    {
        if (cfg.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"model configuration must be a JSON object, got {cfg.ValueKind}");
        var sifa = Field(cfg, "sifa") is { } s
            ? s.ValueKind == JsonValueKind.Object ? new SifaOptions(Int(s, "k", 3, "sifa.k")) : throw WrongType("sifa", "an object", s)
            : new SifaOptions();
        var stages = sifaStages ?? IntList(cfg, "sifa_stages");
        int stride = stemStride ?? Int(cfg, "stem_stride", 1);
        int classes = numClasses ?? Int(cfg, "num_classes", 400);
        gen ??= new Generator(0);
        var model = Field(cfg, "model") is { } m ? m.ValueKind == JsonValueKind.String ? m.GetString() : throw WrongType("model", "a string", m) : null;
        return model switch
        {
            "sifa_resnet" => new SifaResNet(new ResNetConfig(IntList(cfg, "layers") ?? new[] { 3, 4, 6, 3 }, Int(cfg, "width", 64), classes, stages, sifa, stride, Dropout: 0f), gen),
            "sifa_swin" => new SifaSwin(new SwinConfig(Int(cfg, "image", 224), Int(cfg, "patch", 4), Int(cfg, "embed", 96), IntList(cfg, "depths"),
                IntList(cfg, "heads"), Int(cfg, "window", 7), classes, stages, sifa, 4f, DropPath: 0f, StemStride: stride), gen),
            _ => throw new InvalidDataException($"unknown model '{model}' in configuration (expected sifa_resnet or sifa_swin)"),
        };
    }

    private static JsonElement? Field(JsonElement cfg, string key) =>
        cfg.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static int[]? IntList(JsonElement cfg, string key) => Field(cfg, key) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } v => v.EnumerateArray().Select((e, i) => AsInt(e, $"{key}[{i}]")).ToArray(),
        { } v => throw WrongType(key, "a list of integers", v),
    };

    private static int Int(JsonElement cfg, string key, int fallback, string? name = null) =>
        Field(cfg, key) is { } v ? AsInt(v, name ?? key) : fallback;

    private static int AsInt(JsonElement v, string name) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw WrongType(name, "an integer", v);

    private static InvalidDataException WrongType(string name, string expected, JsonElement v) =>
        new($"model configuration field '{name}' must be {expected}, got {v.ValueKind} {v.GetRawText()}");
}
