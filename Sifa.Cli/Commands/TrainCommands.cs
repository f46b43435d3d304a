using System.CommandLine;
using System.Globalization;
using Sifa.Cli.Progress;
using Sifa.Data;
using Sifa.Distributed;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>The <c>train</c> command, and the data helpers <c>eval</c> and <c>predict</c> share with it.</summary>
internal static class TrainCommands
{
    /// <summary>Creates the commands.</summary>
    /// <returns>train, eval, predict, info, explain.</returns>
    public static IEnumerable<Command> Create()
    {
        yield return TrainCommand();
        yield return EvalCommand.Create();
        yield return PredictCommand.Create();
        yield return InfoCommand.Create();
        yield return ExplainCommand.Create();
    }

    private static readonly TrainerOptions Defaults = TrainerOptions.Defaults;

    private sealed class DataOpts
    {
        public Option<string?> Data = new("--data") { Description = "Training list file or folder (none: synthetic-motion)" };
        public Option<string> Format = new("--data-format") { DefaultValueFactory = _ => "video", Description = "video | rawframes | folders" };
        public Option<string?> Root = new("--data-root") { Description = "Root prepended to list paths" };
        public Option<string?> ValData = new("--val-data") { Description = "Validation list file or folder" };
        public Option<string?> Classes = new("--classes") { Description = "Class names file (one per line)" };
        public Option<int> Frames = new("--frames") { DefaultValueFactory = _ => 8, Description = "Frames per clip" };
        public Option<int> Size = new("--size") { DefaultValueFactory = _ => 32, Description = "Frame side (crop size)" };
        public Option<int> ValSize = new("--val-size") { DefaultValueFactory = _ => 512, Description = "Synthetic validation clips" };
        public Option<int> Seed = new("--seed") { DefaultValueFactory = _ => Defaults.Seed, Description = "Random seed" };
        public Option<int> Workers = new("--workers") { DefaultValueFactory = _ => Defaults.Workers, Description = "Data-loading workers" };
        public Option<string> Device = DeviceOption.Create();
        public ModelOptions Models = new("sifa-tiny");
        public Option<int?> MaxBad = new("--max-bad-samples") { Description = "Samples per epoch that may fail to load before the run stops (default 1% of the epoch)" };
        public Option<bool> Strict = new("--strict-data") { Description = "Stop at the first sample that fails to load" };

        public void AddTo(Command c)
        {
            Models.AddTo(c);
            foreach (var o in new Option[] { Data, Format, Root, ValData, Classes, Frames, Size, ValSize, Seed, Workers, Device, MaxBad, Strict }) c.Add(o);
        }

        /// <summary>Checks the values every data command shares; returns (model label, frames, size).</summary>
        public (string Model, int Frames, int Size) Check(ParseResult pr)
        {
            int frames = pr.GetValue(Frames), size = pr.GetValue(Size);
            Checks.Clip(frames, size);
            Models.Spec(pr, 1, size); // the model options, before any data is read (the class count comes from the data)
            var model = Models.Label(pr);
            Checks.Range("--val-size", pr.GetValue(ValSize), 1);
            Checks.Range("--workers", pr.GetValue(Workers), 0, 256);
            if (pr.GetValue(MaxBad) is int mb) Checks.Range("--max-bad-samples", mb, 0);
            var fmt = pr.GetValue(Format)!;
            if (fmt is not ("video" or "rawframes" or "folders")) throw new ArgumentException($"--data-format '{fmt}' is unknown (video, rawframes, folders)");
            return (model, frames, size);
        }
    }

    /// <summary>The frame interval of file data (dense sampling, every other frame).</summary>
    internal const int Interval = 2;

    private static ClipPipeline Pipeline(int frames, int size, bool training, int clips = 1, int crops = 1) =>
        new(new DenseSampler(frames, Interval, clips), training, new ClipTransformOptions
        {
            ShortSideMin = size, ShortSideMax = size * 5 / 4, CropSize = size, TestShortSide = size, TestCropSize = size,
            TestCrop = crops == 3 ? TestCropMode.ThreeCrop : TestCropMode.Center, HorizontalFlip = false,
        });

    // The pipeline of the recipe options (sampling, augmentation, flips, recipe sizes).
    // What eval and predict need to cut clips as validation did: synthetic clips are rendered frame by frame
    // (interval 1); file data as the validation pipeline sampled and resized it; the recipe's test views.
    private static ClipGeometry RecordedClip(int frames, int size, FileVideoDataset? val, string views)
    {
        var (clips, crops) = ParseViews(views);
        var sampler = val?.Pipeline.Sampler;
        int interval = sampler is StridedClipSampler d ? d.FrameInterval : 1;
        var mode = sampler switch { ConsecutiveSampler => SamplingMode.Consecutive, SegmentSampler => SamplingMode.Segments, _ => SamplingMode.Dense };
        return new ClipGeometry(frames, interval, size, val?.Pipeline.Transform.TestShortSide ?? size, clips, crops, mode);
    }

    internal static ClipPipeline Pipeline(RecipeOptions r, ParseResult pr, Command cmd, int frames, int size, bool training, string? data, int clips = 1, int crops = 1) =>
        new(r.Sampler(pr, cmd, frames, clips), training, r.Transform(pr, cmd, size, training, crops, data));

    // `names`: the training data's classes, which a validation list's labels must fit (checked per line when read).
    internal static IVideoDataset FileDataset(string path, string format, string? root, string? classes, ClipPipeline p,
        IReadOnlyList<string>? names = null, (string Template, int Start)? frames = null) => format switch
    {
        "video" => new VideoListDataset(path, root, p, classes, names),
        "rawframes" => new RawFrameDataset(path, root, p, classes, frames?.Template ?? "img_{:05}.jpg", frames?.Start ?? 1, names),
        "folders" => new ClassFolderDataset(path, p, classes, classNames: names),
        _ => throw new ArgumentException($"--data-format '{format}' is unknown (video, rawframes, folders)"),
    };

    internal static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    // Each bad file once, on stdout with the run's other lines; the count and limit are the trainer's / evaluator's.
    internal static Action<BadSampleInfo> BadSampleLogger()
    {
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        return b =>
        {
            if (seen.TryAdd(b.Path, true)) Console.Out.WriteLine($"bad sample {b.Index} (left out): {b.Reason}: {b.Path}");
        };
    }

    private static Command TrainCommand()
    {
        var cmd = new Command("train", "Train a model (synthetic-motion when no --data); writes metrics.jsonl, curves.svg and checkpoints to --out.");
        var d = new DataOpts();
        d.AddTo(cmd);
        var outDir = new Option<string?>("--out") { Description = "Output folder (default runs/<model>)" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => Defaults.Epochs, Description = "Total epochs" };
        var batch = BatchOption();
        var trainSize = new Option<int>("--train-size") { DefaultValueFactory = _ => 6144, Description = "Synthetic training clips" };
        var resume = new Option<string?>("--resume")
        {
            Arity = ArgumentArity.ZeroOrOne,
            Description = "Continue the run in --out from its latest checkpoint (an error when there is none); '--resume auto' starts a new run when there is none",
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the run already in --out (without it, starting a new run there is an error)" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => Defaults.Lr, Description = "Peak learning rate" };
        var optim = new Option<string>("--optimizer") { DefaultValueFactory = _ => Defaults.Optimizer, Description = $"{string.Join(" | ", OptimizerFactory.Names)} (sgd: momentum {Defaults.Momentum}, Nesterov unless --nesterov false)" };
        var wd = new Option<double>("--weight-decay") { DefaultValueFactory = _ => Defaults.WeightDecay, Description = "Weight decay" };
        var warmup = new Option<int>("--warmup-steps") { DefaultValueFactory = _ => Defaults.WarmupSteps, Description = "Warm-up optimizer steps" };
        var smoothing = new Option<float>("--label-smoothing") { DefaultValueFactory = _ => Defaults.LabelSmoothing, Description = "Label smoothing" };
        var clip = new Option<double>("--clip-grad") { DefaultValueFactory = _ => Defaults.ClipGradNorm, Description = "Global gradient-norm clip (0: off)" };
        var onNan = new Option<string>("--on-nan") { DefaultValueFactory = _ => "stop", Description = "At a step with a non-finite loss or gradient: stop (exit 1, last checkpoint kept) | skip-step" };
        var pretrained = PretrainedOption.Create();
        var quiet = new Option<bool>("--quiet") { Description = "Print no progress and no per-epoch lines: only notices and the final result" };
        foreach (var o in new Option[] { outDir, epochs, batch, trainSize, resume, overwrite, lr, optim, wd, warmup, smoothing, clip, onNan, pretrained, quiet }) cmd.Add(o);
        var recipe = new RecipeOptions();
        recipe.AddTo(cmd, training: true);
        var dist = new DistributedOptions();
        dist.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            if (d.Models.ListRequested(pr)) return 0;
            var (model, frames, size) = d.Check(pr);
            (frames, size) = recipe.ClipShape(pr, cmd, frames, size);
            int seed = pr.GetValue(d.Seed);
            var opts = Defaults with
            {
                Epochs = pr.GetValue(epochs), BatchSize = pr.GetValue(batch), Lr = pr.GetValue(lr), Optimizer = pr.GetValue(optim)!.ToLowerInvariant(),
                WeightDecay = pr.GetValue(wd), WarmupSteps = pr.GetValue(warmup), LabelSmoothing = pr.GetValue(smoothing), ClipGradNorm = pr.GetValue(clip),
                Seed = seed, Workers = pr.GetValue(d.Workers), Device = Device.Parse(pr.GetValue(d.Device)!), OutDir = pr.GetValue(outDir) ?? Path.Combine("runs", model),
                Resume = ResumeModeOf(pr, resume), Overwrite = pr.GetValue(overwrite), OnNan = ParseNanPolicy(pr.GetValue(onNan)!), MaxBadSamples = pr.GetValue(d.MaxBad), StrictData = pr.GetValue(d.Strict),
            };
            opts = recipe.ApplyTraining(pr, cmd, opts);
            recipe.Check(pr, cmd, frames, size, training: true);
            opts.Validate(); // every setting (and the device) before any data is read
            Checks.Range("--train-size", pr.GetValue(trainSize), 1);
            if (Launch.WorldRank == 0) Checks.OutDir(opts.OutDir); // only rank 0 writes the run folder
            var dp = dist.Create(pr); // under mpirun only; rank 0 alone prints
            var console = DistributedOptions.LogOf(dp);
            IVideoDataset train, val;
            var data = pr.GetValue(d.Data);
            if (data == null)
            {
                var so = new SyntheticMotionOptions { Frames = frames, Size = size, TrainCount = pr.GetValue(trainSize), ValidationCount = pr.GetValue(d.ValSize), Seed = seed };
                train = new SyntheticMotionDataset(so, DatasetSplit.Train);
                val = new SyntheticMotionDataset(so, DatasetSplit.Validation);
            }
            else
            {
                string fmt = pr.GetValue(d.Format)!;
                string? root = NonEmpty(pr.GetValue(d.Root)), classes = NonEmpty(pr.GetValue(d.Classes));
                var vd = pr.GetValue(d.ValData) ?? throw new ArgumentException("--val-data is required with --data");
                var frameFiles = recipe.Frames(pr, cmd);
                train = FileDataset(data, fmt, root, classes, Pipeline(recipe, pr, cmd, frames, size, true, data), frames: frameFiles);
                val = FileDataset(vd, fmt, root, classes, Pipeline(recipe, pr, cmd, frames, size, false, data), train.ClassNames, frameFiles);
            }
            if (recipe.RecipeOf(pr) is { } rc) console.WriteLine(RecipeOptions.Describe(rc, opts, (train as FileVideoDataset)?.Pipeline));
            var spec = d.Models.Spec(pr, train.ClassNames.Count, size); // preset plus overrides: what the checkpoint records
            var net = Checks.BuildModel(spec, model, frames, new Generator((ulong)seed));
            if (opts.Resume != ResumeMode.Required) PretrainedOption.Apply(net, pr.GetValue(pretrained));
            bool quietRun = pr.GetValue(quiet), worker = dp is { IsRoot: false };
            var view = ProgressView.Create(quietRun || worker); // rank 0 alone shows progress
            opts = opts with
            {
                Record = new CheckpointRecord
                {
                    Model = spec, ClassNames = train.ClassNames, Dataset = data ?? SyntheticMotionDataset.Name, Command = CommandLine(pr),
                    Clip = RecordedClip(frames, size, val as FileVideoDataset, recipe.RecipeOf(pr)?.Views ?? "1x1"),
                },
                Observer = view,
            };
            if (dp != null) console.WriteLine($"data-parallel over {dp.Size} ranks ({dp.Collective.Name}): global batch {opts.BatchSize}, about {opts.BatchSize / dp.Size} per rank, batch norm {(dp.SyncBatchNorm ? "synchronised" : "per rank")}");
            if (!quietRun)
                console.WriteLine($"train {model} ({net.ParameterCount():N0} parameters) on {(data ?? SyntheticMotionDataset.Name)}: {train.Count} train / {val.Count} val clips listed, {frames}x{size}x{size}, out {opts.OutDir}");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var trainer = new Trainer(net, train, val, opts, worker ? console : view.Log) { Parallel = dp };
            var hist = view.Run(() => trainer.Run()); // a failed checkpoint write (OutputWriteException: IOException) exits 1
            dp?.Collective.Dispose(); // MPI_Finalize on success only: after a failure mpirun ends the other ranks
            if (worker) return 0; // (its history lacks the epochs before a resume)
            view.Summary(hist);
            var last = hist[^1];
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done in {sw.Elapsed.TotalSeconds:F1}s: val top1 {last.ValTop1:F3} top5 {last.ValTop5:F3}"));
            return 0;
        });
        return cmd;
    }

    /// <summary>The command line as typed (after <c>sifa</c>), for the checkpoint's record.</summary>
    internal static string CommandLine(ParseResult pr) =>
        "sifa " + string.Join(' ', pr.Tokens.Select(t => t.Value.Length == 0 || t.Value.Any(char.IsWhiteSpace) || t.Value.Contains('\'') ? $"'{t.Value.Replace("'", "'\\''")}'" : t.Value));

    private static ResumeMode ResumeModeOf(ParseResult pr, Option<string?> resume)
    {
        if (pr.GetResult(resume) is not { Implicit: false }) return ResumeMode.Never;
        var v = pr.GetValue(resume);
        if (string.IsNullOrEmpty(v)) return ResumeMode.Required;
        if (v.Equals("auto", StringComparison.OrdinalIgnoreCase)) return ResumeMode.Auto;
        throw new ArgumentException($"--resume '{v}': expected no value (resume; an error when there is no checkpoint) or 'auto'");
    }

    private static NanPolicy ParseNanPolicy(string s) => s.ToLowerInvariant() switch
    {
        "stop" => NanPolicy.Stop,
        "skip-step" => NanPolicy.SkipStep,
        _ => throw new ArgumentException($"--on-nan '{s}': expected stop or skip-step"),
    };

    internal static Option<int> BatchOption() =>
        new("--batch") { DefaultValueFactory = _ => Defaults.BatchSize, Description = "Batch size" };

    internal static (int Clips, int Crops) ParseViews(string s)
    {
        var p = s.ToLowerInvariant().Split('x', '×');
        if (p.Length != 2 || !int.TryParse(p[0], out int a) || !int.TryParse(p[1], out int b) || a < 1 || b is not (1 or 3))
            throw new ArgumentException($"--views '{s}': expected CLIPSxCROPS with crops 1 or 3, e.g. 1x1 or 10x3");
        return (a, b);
    }
}
