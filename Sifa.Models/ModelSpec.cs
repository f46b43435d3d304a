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

    /// <summary>SIFA (and correlation) local size k, odd in 1..9; null keeps the preset's (3).</summary>
    [JsonPropertyName("sifa_k")] public int? SifaK { get; init; }

    /// <summary>1-based stages (1..4) whose blocks get the temporal block; null keeps the preset's, empty means none (C2D).</summary>
    [JsonPropertyName("sifa_stages")] public int[]? SifaStages { get; init; }

    /// <summary>Offset source (msm, regular, next, difference, conv3d); null keeps the preset's (msm).</summary>
    [JsonPropertyName("sifa_offsets")] public OffsetSource? SifaOffsets { get; init; }

    /// <summary>What the last frame attends to; null keeps the preset's.</summary>
    [JsonPropertyName("sifa_last_frame")] public LastFrame? SifaLastFrame { get; init; }

    /// <summary>
    /// Paper Table 1a: <c>sifa</c>, <c>sifa-r</c> (offsets <c>regular</c>) or <c>sifa-c</c> (temporal block
    /// <c>correlation</c>); null keeps the preset's.
    /// </summary>
    [JsonPropertyName("sifa_variant")] public SifaVariant? SifaVariant { get; init; }

    /// <summary>
    /// The block of the chosen stages (paper Table 1e): <c>sifa</c>, <c>correlation</c>, <c>temporal-conv</c> or
    /// <c>temporal-shift</c> (ResNet presets only); null keeps the preset's (sifa).
    /// </summary>
    [JsonPropertyName("temporal_block")] public TemporalBlock? TemporalBlock { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly JsonSerializerOptions Compact = new(Json) { WriteIndented = false };

    /// <summary>The spec as JSON, indented unless <paramref name="indented"/> is false (null overrides left out).</summary>
    public string ToJson(bool indented = true) => JsonSerializer.Serialize(this, indented ? Json : Compact);

    /// <summary>Reads a spec; an unknown field or a value of the wrong type fails naming it (values are checked by <see cref="Validate"/>).</summary>
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

    /// <summary>The SIFA options the overrides give, starting from <paramref name="preset"/>'s (the variant applied).</summary>
    public SifaOptions SifaOptionsFrom(SifaOptions preset) => preset with
    {
        K = SifaK ?? preset.K,
        Offsets = SifaVariant == Models.SifaVariant.SifaR ? OffsetSource.Regular : SifaOffsets ?? preset.Offsets,
        LastFrame = SifaLastFrame ?? preset.LastFrame,
        Block = SifaVariant == Models.SifaVariant.SifaC ? Models.TemporalBlock.Correlation : TemporalBlock ?? preset.Block,
    };

    /// <summary>
    /// This spec over <paramref name="basis"/>: every override this spec leaves null takes the basis's (the preset a
    /// derived preset names, and the settings it fixes).
    /// </summary>
    public ModelSpec Over(ModelSpec basis) => this with
    {
        Preset = basis.Preset,
        StemStride = StemStride ?? basis.StemStride,
        SifaK = SifaK ?? basis.SifaK,
        SifaStages = SifaStages ?? basis.SifaStages,
        SifaOffsets = SifaOffsets ?? basis.SifaOffsets,
        SifaLastFrame = SifaLastFrame ?? basis.SifaLastFrame,
        SifaVariant = SifaVariant ?? basis.SifaVariant,
        TemporalBlock = TemporalBlock ?? basis.TemporalBlock,
    };

    /// <summary>
    /// Refuses values no model takes, naming the field and its command-line option: k odd in 1..9, stages in 1..4 and
    /// distinct, a stem stride, class count and image ≥ 1, and settings that contradict each other (a variant and an
    /// offset source or block it overrides; SIFA settings on a block that has none).
    /// </summary>
    /// <exception cref="ArgumentException">A value is out of range or contradicts another.</exception>
    public ModelSpec Validate()
    {
        if (NumClasses < 1) throw new ArgumentException($"num_classes must be ≥ 1, got {NumClasses}");
        if (Image < 1) throw new ArgumentException($"image (--size) must be ≥ 1, got {Image}");
        if (StemStride is < 1) throw new ArgumentException($"stem_stride (--stem-stride) must be ≥ 1, got {StemStride}");
        if (SifaK is { } k && (k < 1 || k > 9 || k % 2 == 0)) throw new ArgumentException($"sifa_k (--sifa-k) must be odd in 1..9, got {k}");
        if (SifaStages is { } st)
        {
            foreach (int s in st)
                if (s < 1 || s > 4) throw new ArgumentException($"sifa_stages (--sifa-stages) must lie in 1..4, got {s}");
            if (st.Distinct().Count() != st.Length) throw new ArgumentException($"sifa_stages (--sifa-stages) lists a stage twice: {string.Join(",", st)}");
        }
        if (SifaVariant == Models.SifaVariant.SifaR && SifaOffsets is { } o && o != OffsetSource.Regular)
            throw new ArgumentException($"sifa_variant (--sifa-variant) sifa-r is the regular grid; it contradicts sifa_offsets (--sifa-offsets) {Kebab(o)}");
        if (SifaVariant is { } v && TemporalBlock is { } b && b != (v == Models.SifaVariant.SifaC ? Models.TemporalBlock.Correlation : Models.TemporalBlock.Sifa))
            throw new ArgumentException($"sifa_variant (--sifa-variant) {Kebab(v)} contradicts temporal_block (--temporal-block) {Kebab(b)}");
        var block = SifaOptionsFrom(new SifaOptions()).Block;
        if (block != Models.TemporalBlock.Sifa && SifaOffsets != null)
            throw new ArgumentException($"sifa_offsets (--sifa-offsets) does not apply to the {Kebab(block)} block (only SIFA has offsets)");
        if (block is Models.TemporalBlock.TemporalConv or Models.TemporalBlock.TemporalShift && (SifaK != null || SifaLastFrame != null))
            throw new ArgumentException($"{(SifaK != null ? "sifa_k (--sifa-k)" : "sifa_last_frame (--sifa-last-frame)")} does not apply to the {Kebab(block)} block");
        return this;
    }

    /// <summary>An enum value as it is written in JSON and on the command line (<c>sifa-r</c>, <c>temporal-shift</c>).</summary>
    public static string Kebab<T>(T value) where T : struct, Enum => JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());

    /// <summary>Builds the model this spec describes.</summary>
    /// <exception cref="ArgumentException">The preset is unknown or an override does not fit it.</exception>
    public VideoModel Build(Generator? gen = null) => Presets.Create(this, gen);
}
