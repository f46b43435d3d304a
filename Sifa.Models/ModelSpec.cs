using System.Text.Json;
using System.Text.Json.Serialization;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// Everything needed to rebuild a model: a named preset plus the overrides given on the command line or in a model
/// config file. It round-trips through JSON (<see cref="ToJson"/> / <see cref="FromJson"/>), so the same record is a
/// config file a user writes, what a checkpoint stores, and what <c>train</c>, <c>eval</c>, <c>predict</c>,
/// <c>flops</c> and <c>bench</c> build from. A null override keeps the preset's value.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>The preset the overrides apply to (see <see cref="Presets.Names"/>).</summary>
    [JsonPropertyName("preset")] public string Preset { get; init; } = "sifa-tiny";

    /// <summary>Classifier outputs.</summary>
    [JsonPropertyName("num_classes")] public int NumClasses { get; init; } = 400;

    /// <summary>Input resolution (Swin presets fix their token grid from it).</summary>
    [JsonPropertyName("image")] public int Image { get; init; } = 224;

    /// <summary>Temporal stem stride; null keeps the preset's.</summary>
    [JsonPropertyName("stem_stride")] public int? StemStride { get; init; }

    /// <summary>SIFA local size k; null keeps the preset's (3).</summary>
    [JsonPropertyName("sifa_k")] public int? SifaK { get; init; }

    /// <summary>1-based stages with SIFA blocks; null keeps the preset's, empty means none.</summary>
    [JsonPropertyName("sifa_stages")] public int[]? SifaStages { get; init; }

    /// <summary>Offset source; null keeps the preset's (msm).</summary>
    [JsonPropertyName("sifa_offsets")] public OffsetSource? SifaOffsets { get; init; }

    /// <summary>What the last frame attends to; null keeps the preset's.</summary>
    [JsonPropertyName("sifa_last_frame")] public LastFrame? SifaLastFrame { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The spec as indented JSON (null overrides left out).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a spec; an unknown field or a value of the wrong type fails naming it.</summary>
    /// <exception cref="InvalidDataException">The JSON does not describe a spec.</exception>
    public static ModelSpec FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelSpec>(json, Json) ?? throw new InvalidDataException("model spec is JSON null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"model spec: {e.Message}");
        }
    }

    /// <summary>The SIFA options the overrides give, starting from <paramref name="preset"/>'s.</summary>
    public SifaOptions SifaOptionsFrom(SifaOptions preset) => preset with
    {
        K = SifaK ?? preset.K,
        Offsets = SifaOffsets ?? preset.Offsets,
        LastFrame = SifaLastFrame ?? preset.LastFrame,
    };

    /// <summary>Builds the model this spec describes.</summary>
    /// <exception cref="ArgumentException">The preset is unknown or an override does not fit it.</exception>
    public VideoModel Build(Generator? gen = null) => Presets.Create(this, gen);
}
