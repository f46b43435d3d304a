using System.CommandLine;
using Sifa.Autograd;
using Sifa.Data;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Tensors.IO;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>A checkpoint loaded for eval, predict or explain, with the settings it was resolved to.</summary>
/// <param name="Model">The model, weights loaded and checked finite, in eval mode, on the CPU.</param>
/// <param name="Record">What the checkpoint records (null for an old checkpoint or a .pth).</param>
/// <param name="ClassNames">Class names (null when neither the checkpoint nor --classes gives them).</param>
/// <param name="Clip">The clip geometry used.</param>
/// <param name="Normalization">The input normalisation used.</param>
/// <param name="Clips">Test clips per video.</param>
/// <param name="Crops">Test crops per clip.</param>
internal sealed record LoadedCheckpoint(VideoModel Model, CheckpointRecord? Record, IReadOnlyList<string>? ClassNames,
    ClipGeometry Clip, InputNormalization Normalization, int Clips, int Crops)
{
    /// <summary>The test pipeline at the resolved geometry and views.</summary>
    public ClipPipeline Pipeline() => Clip.TestPipeline(Normalization, Clips, Crops);
}

/// <summary>
/// The options that say which model a checkpoint holds, shared by <c>eval</c>, <c>predict</c> and <c>explain</c>. A
/// self-describing checkpoint (docs/checkpoints.md) needs none of them; one that is given and disagrees with the
/// checkpoint is an error naming both values (the geometry ones may be forced with <c>--override-geometry</c>). An old
/// checkpoint (only an epoch in its metadata) or a PyTorch .pth uses them, with their defaults, as before.
/// </summary>
internal sealed class CheckpointOptions
{
    /// <summary>The frames per clip of an old checkpoint when --frames is not given.</summary>
    public const int DefaultFrames = 8;
    /// <summary>The frame side of an old checkpoint when --size is not given.</summary>
    public const int DefaultSize = 32;
    /// <summary>The preset of an old checkpoint when --model is not given.</summary>
    public const string DefaultModel = "sifa-tiny";

    public readonly Option<string> Checkpoint = new("--checkpoint")
    {
        Required = true,
        Description = "Model weights: a Sifa .safetensors checkpoint (self-describing: nothing else needed) or a PyTorch .pth",
    };
    /// <summary>The model options (<c>--model</c> and the Table 1 overrides): default the checkpoint's; <see cref="DefaultModel"/> for an old checkpoint or a .pth.</summary>
    public readonly ModelOptions Models = new(DefaultModel);
    public readonly Option<string?> Classes = new("--classes") { Description = "Class names file, one per line (default: the checkpoint's)" };
    public readonly Option<int?> Frames = new("--frames") { Description = $"Frames per clip (default: the checkpoint's; {DefaultFrames} for an old checkpoint)" };
    public readonly Option<int?> Size = new("--size") { Description = $"Frame side (default: the checkpoint's; {DefaultSize} for an old checkpoint)" };
    public readonly Option<string?> Views = new("--views") { Description = "Test views CLIPSxCROPS, crops 1 or 3 (default: the checkpoint's, else 1x1)" };
    public readonly Option<bool> OverrideGeometry = new("--override-geometry") { Description = "Use --frames/--size even where they differ from the checkpoint's" };

    /// <summary>Adds the options to a command.</summary>
    public void AddTo(Command c)
    {
        Models.AddTo(c);
        foreach (var o in new Option[] { Checkpoint, Classes, Frames, Size, Views, OverrideGeometry }) c.Add(o);
    }

    /// <summary>
    /// Reads the checkpoint and resolves the model, classes and geometry. <paramref name="classCount"/> gives the class
    /// count for an old checkpoint without --classes (eval: the dataset's; null: --classes is then required).
    /// </summary>
    public LoadedCheckpoint Load(ParseResult pr, Func<ClipGeometry, int>? classCount = null)
    {
        var path = pr.GetValue(Checkpoint)!;
        var (clips, crops) = pr.GetValue(Views) is string v ? TrainCommands.ParseViews(v) : (0, 0);
        int? frames = pr.GetValue(Frames), size = pr.GetValue(Size);
        if (frames is int f) Checks.Range("--frames", f, 1, Checks.MaxFrames);
        if (size is int s) Checks.Range("--size", s, 1, Checks.MaxSize);
        bool safetensors = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        var content = safetensors ? SafeTensors.Read(path) : null;
        var record = content != null ? CheckpointRecord.FromMetadata(content.Metadata, path) : null;
        var classes = pr.GetValue(Classes) is string cf ? AnnotationFiles.ReadClassNames(cf) : null;
        return record != null
            ? FromRecord(pr, path, content!, record, classes, frames, size, clips, crops)
            : FromFlags(pr, path, content, classes, frames, size, clips, crops, classCount);
    }

    private LoadedCheckpoint FromRecord(ParseResult pr, string path, SafeTensors.Content content, CheckpointRecord r,
        IReadOnlyList<string>? classes, int? frames, int? size, int clips, int crops)
    {
        string name = path;
        if (Models.AnyGiven(pr) && Models.Spec(pr, r.Model.NumClasses, r.Model.Image) is var want && want.ToJson() != r.Model.ToJson())
            throw new ArgumentException($"--model {Models.Label(pr)} (with its overrides) disagrees with the checkpoint {name}, which holds {Compact(r.Model)}; the options give {Compact(want)}");
        if (classes != null && !classes.SequenceEqual(r.ClassNames))
            throw new ArgumentException($"--classes {pr.GetValue(Classes)} disagrees with the checkpoint {name}: {Describe(classes)} vs the checkpoint's {Describe(r.ClassNames)}");
        bool force = pr.GetValue(OverrideGeometry);
        void Agree(string option, int? given, int recorded)
        {
            if (given is int g && g != recorded && !force)
                throw new ArgumentException($"{option} {g} disagrees with the checkpoint {name}, which was trained with {option} {recorded} (pass --override-geometry to use {g} anyway)");
        }
        Agree("--frames", frames, r.Clip.Frames);
        Agree("--size", size, r.Clip.Size);
        var clip = r.Clip with { Frames = frames ?? r.Clip.Frames, Size = size ?? r.Clip.Size };
        if (clip.Size != r.Clip.Size) clip = clip with { TestShortSide = clip.Size };
        var model = Training.Checkpoint.Build(clip.Size == r.Clip.Size ? r : r with { Model = r.Model with { Image = clip.Size } }, content, path);
        Checks.Fit(model, r.Model.Preset, clip.Frames, clip.Size);
        return new LoadedCheckpoint(model, r, r.ClassNames, clip, r.Normalization,
            clips > 0 ? clips : r.Clip.TestClips, crops > 0 ? crops : r.Clip.TestCrops);
    }

    private LoadedCheckpoint FromFlags(ParseResult pr, string path, SafeTensors.Content? content, IReadOnlyList<string>? classes,
        int? frames, int? size, int clips, int crops, Func<ClipGeometry, int>? classCount)
    {
        var name = Models.Label(pr);
        int t = frames ?? DefaultFrames, s = size ?? DefaultSize;
        // The geometry the CLI has always used: interval 2, short side = crop side.
        var clip = new ClipGeometry(t, 2, s, s, 1, 1);
        if (content != null)
            Console.Out.WriteLine($"note: {path} does not describe itself (a checkpoint from before self-describing checkpoints): using --model {name} --frames {t} --size {s}");
        int n = classes?.Count ?? classCount?.Invoke(clip)
            ?? throw new ArgumentException($"--classes is required: {path} does not record its class names");
        var model = Checks.BuildModel(Models.Spec(pr, n, s), name, t);
        if (content != null) model.LoadStateDict(content.Tensors, strict: true, source: path);
        else PretrainedOption.Apply(model, path);
        Evaluator.EnsureFiniteWeights(model, path);
        model.Eval();
        return new LoadedCheckpoint(model, null, classes, clip, InputNormalization.ImageNet, Math.Max(1, clips), Math.Max(1, crops));
    }

    private static string Compact(ModelSpec spec) =>
        System.Text.RegularExpressions.Regex.Replace(spec.ToJson(), @"\s+", " ");

    private static string Describe(IReadOnlyList<string> names) =>
        $"{names.Count} classes ({string.Join(", ", names.Take(4))}{(names.Count > 4 ? ", ..." : "")})";
}
