using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sifa.Data;
using Sifa.Models;

namespace Sifa.Training;

/// <summary>
/// How clips are cut from a video for the model: frames per clip, the stride between sampled frames, the square side,
/// and the test-time protocol (short side, clips × crops).
/// </summary>
/// <param name="Frames">Frames per clip T.</param>
/// <param name="Interval">Stride between sampled frames of a video (1 for generated clips).</param>
/// <param name="Size">Square frame side the model sees.</param>
/// <param name="TestShortSide">Short side a test video is resized to before cropping.</param>
/// <param name="TestClips">Test clips per video.</param>
/// <param name="TestCrops">Test crops per clip (1: centre, 3: three crops).</param>
/// <param name="Sampling">Where the frames of a clip come from (dense, consecutive or segments), in training and at test time.</param>
public sealed record ClipGeometry(
    [property: JsonPropertyName("frames")] int Frames,
    [property: JsonPropertyName("interval")] int Interval,
    [property: JsonPropertyName("size")] int Size,
    [property: JsonPropertyName("test_short_side")] int TestShortSide,
    [property: JsonPropertyName("test_clips")] int TestClips = 1,
    [property: JsonPropertyName("test_crops")] int TestCrops = 1,
    [property: JsonPropertyName("sampling"), JsonConverter(typeof(JsonStringEnumConverter<SamplingMode>))] SamplingMode Sampling = SamplingMode.Dense)
{
    /// <summary>The test views as <c>CLIPSxCROPS</c>.</summary>
    [JsonIgnore] public string Views => $"{TestClips}x{TestCrops}";

    /// <summary>The test-time pipeline for these clips (<paramref name="clips"/> × <paramref name="crops"/> views; the
    /// recorded ones when null), normalised with <paramref name="normalization"/>.</summary>
    public ClipPipeline TestPipeline(InputNormalization normalization, int? clips = null, int? crops = null) =>
        new(FrameSamplers.Create(Sampling, Frames, Interval, clips ?? TestClips), false, new ClipTransformOptions
        {
            ShortSideMin = Size, ShortSideMax = Size * 5 / 4, CropSize = Size, TestShortSide = Math.Max(Size, TestShortSide),
            TestCropSize = Size, TestCrop = (crops ?? TestCrops) == 3 ? TestCropMode.ThreeCrop : TestCropMode.Center,
            HorizontalFlip = false, Mean = normalization.Mean, Std = normalization.Std,
        });
}

/// <summary>Input normalisation: <c>(rgb / 255 - mean) / std</c> per channel.</summary>
/// <param name="Mean">Channel means (RGB, on [0, 1]).</param>
/// <param name="Std">Channel standard deviations (RGB, on [0, 1]).</param>
public sealed record InputNormalization(
    [property: JsonPropertyName("mean")] float[] Mean,
    [property: JsonPropertyName("std")] float[] Std)
{
    /// <summary>ImageNet's, which the data pipeline and synthetic-motion use.</summary>
    public static InputNormalization ImageNet => new(ImageOps.ImageNetMean.ToArray(), ImageOps.ImageNetStd.ToArray());
}

/// <summary>
/// What a checkpoint records about itself, beside the weights, in the safetensors header's <c>__metadata__</c> (string
/// values; JSON where structured; docs/checkpoints.md lists the keys): the model as a <see cref="ModelSpec"/>, the
/// class names, the clip geometry, the input normalisation, the framework version, the training command line, and the
/// epoch and metrics it was saved at. Enough to use the checkpoint with nothing else
/// (<see cref="Checkpoint.LoadForInference"/>).
/// </summary>
public sealed record CheckpointRecord
{
    /// <summary>The value of <see cref="FormatKey"/> this version writes.</summary>
    public const string CurrentFormat = "sifa-checkpoint/1";

    /// <summary>Metadata keys.</summary>
    public const string FormatKey = "format", ModelKey = "model", ClassesKey = "classes", ClipKey = "clip",
        NormalizationKey = "normalization", DatasetKey = "dataset", VersionKey = "sifa_version", CommandKey = "command",
        MetricsKey = "metrics", EpochKey = "epoch";

    /// <summary>The model: a preset plus overrides (its <see cref="ModelSpec.ToJson"/> is what is stored).</summary>
    public required ModelSpec Model { get; init; }

    /// <summary>Class names by label.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>How clips are cut.</summary>
    public required ClipGeometry Clip { get; init; }

    /// <summary>Input normalisation.</summary>
    public InputNormalization Normalization { get; init; } = InputNormalization.ImageNet;

    /// <summary>The training data (a list path or <c>synthetic-motion</c>); null when unknown.</summary>
    public string? Dataset { get; init; }

    /// <summary>The Sifa version that wrote the checkpoint.</summary>
    public string FrameworkVersion { get; init; } = CurrentVersion;

    /// <summary>The training command line; null when not trained from the CLI.</summary>
    public string? Command { get; init; }

    /// <summary>Epochs trained when saved (0: not saved by a trainer).</summary>
    public int Epoch { get; init; }

    /// <summary>The metrics of the epoch saved (its wall time is not recorded: 0); null when none.</summary>
    public EpochMetrics? Metrics { get; init; }

    /// <summary>The version of this Sifa build (the assembly's informational version, without the source hash).</summary>
    public static string CurrentVersion { get; } =
        (typeof(CheckpointRecord).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    private static readonly JsonSerializerOptions Compact = new()
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The record as safetensors metadata (string values).</summary>
    public Dictionary<string, string> ToMetadata()
    {
        var m = new Dictionary<string, string>
        {
            [FormatKey] = CurrentFormat,
            [ModelKey] = Model.ToJson(),
            [ClassesKey] = JsonSerializer.Serialize(ClassNames, Compact),
            [ClipKey] = JsonSerializer.Serialize(Clip, Compact),
            [NormalizationKey] = JsonSerializer.Serialize(Normalization, Compact),
            [VersionKey] = FrameworkVersion,
            [EpochKey] = Epoch.ToString(CultureInfo.InvariantCulture),
        };
        if (Dataset != null) m[DatasetKey] = Dataset;
        if (Command != null) m[CommandKey] = Command;
        // Without the wall time: a resumed run must write the same bytes as an uninterrupted one.
        if (Metrics != null) m[MetricsKey] = JsonSerializer.Serialize(Metrics with { Seconds = 0 }, Compact);
        return m;
    }

    /// <summary>Whether the metadata is a record (it names a model); old checkpoints record only their epoch.</summary>
    public static bool IsRecorded(IReadOnlyDictionary<string, string> metadata) => metadata.ContainsKey(ModelKey);

    /// <summary>Reads the record from a checkpoint's metadata; null for an old checkpoint (no <see cref="ModelKey"/>).</summary>
    /// <param name="metadata">The safetensors metadata.</param>
    /// <param name="source">The file (named in errors).</param>
    /// <exception cref="InvalidDataException">A key is missing or does not parse (the message names the file and key).</exception>
    public static CheckpointRecord? FromMetadata(IReadOnlyDictionary<string, string> metadata, string source)
    {
        if (!IsRecorded(metadata)) return null;
        string Need(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{source}: the checkpoint's metadata names a model but has no '{key}'");
        T Parse<T>(string key, Func<string, T?> parse) where T : class
        {
            var text = Need(key);
            try { return parse(text) ?? throw new JsonException("null"); }
            catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
            {
                throw new InvalidDataException($"{source}: metadata '{key}' does not parse ({e.Message.ReplaceLineEndings(" ")})", e);
            }
        }
        var format = Need(FormatKey);
        if (format != CurrentFormat)
            throw new InvalidDataException($"{source}: checkpoint format '{format}' is not one this Sifa reads ({CurrentFormat}); written by Sifa {metadata.GetValueOrDefault(VersionKey, "?")}");
        var model = Parse(ModelKey, ModelSpec.FromJson);
        var classes = Parse(ClassesKey, s => JsonSerializer.Deserialize<string[]>(s, Compact));
        var clip = Parse(ClipKey, s => JsonSerializer.Deserialize<ClipGeometry>(s, Compact));
        var norm = Parse(NormalizationKey, s => JsonSerializer.Deserialize<InputNormalization>(s, Compact));
        if (classes.Length != model.NumClasses)
            throw new InvalidDataException($"{source}: metadata lists {classes.Length} class names but the model has {model.NumClasses} classes");
        if (norm.Mean is not { Length: 3 } || norm.Std is not { Length: 3 })
            throw new InvalidDataException($"{source}: metadata '{NormalizationKey}' needs three means and three standard deviations");
        int epoch = metadata.TryGetValue(EpochKey, out var e) && int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out int ep) ? ep : 0;
        return new CheckpointRecord
        {
            Model = model, ClassNames = classes, Clip = clip, Normalization = norm,
            Dataset = metadata.GetValueOrDefault(DatasetKey), FrameworkVersion = metadata.GetValueOrDefault(VersionKey, "?"),
            Command = metadata.GetValueOrDefault(CommandKey), Epoch = epoch,
            Metrics = metadata.ContainsKey(MetricsKey) ? Parse(MetricsKey, s => JsonSerializer.Deserialize<EpochMetrics>(s, Compact)) : null,
        };
    }
}
