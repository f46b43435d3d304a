using System.CommandLine;
using System.Globalization;
using Sifa.Cli.Progress;
using Sifa.Data;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>The <c>eval</c> command: multi-view evaluation of a checkpoint on a list, a folder or synthetic-motion.</summary>
internal static class EvalCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("eval", "Evaluate a checkpoint (multi-view: clips x crops, averaged softmax); prints top-1/top-5. " +
                                      "A self-describing checkpoint needs only --checkpoint (and --data for file data).");
        var ck = new CheckpointOptions();
        ck.AddTo(cmd);
        var data = new Option<string?>("--data") { Description = "Evaluation list file or class-folder root (none: synthetic-motion validation clips)" };
        var format = new Option<string>("--data-format") { DefaultValueFactory = _ => "video", Description = "Format of --data: video | rawframes | folders" };
        var root = new Option<string?>("--data-root") { Description = "Root prepended to the paths in --data" };
        var valSize = new Option<int>("--val-size") { DefaultValueFactory = _ => 512, Description = "Synthetic-motion clips to evaluate (without --data)" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => TrainerOptions.Defaults.Seed, Description = "Seed of the synthetic-motion clips and the loader" };
        var workers = new Option<int>("--workers") { DefaultValueFactory = _ => TrainerOptions.Defaults.Workers, Description = "Data-loading workers" };
        var device = DeviceOption.Create();
        var maxBad = new Option<int?>("--max-bad-samples") { Description = "Samples that may fail to load before evaluation fails (default 1%)" };
        var strict = new Option<bool>("--strict-data") { Description = "Fail at the first sample that cannot be loaded" };
        var batch = TrainCommands.BatchOption();
        var quiet = new Option<bool>("--quiet") { Description = "No progress; only the result line" };
        foreach (var o in new Option[] { data, format, root, valSize, seed, workers, device, maxBad, strict, batch, quiet }) cmd.Add(o);
        var recipe = new RecipeOptions();
        recipe.AddTo(cmd, training: false);
        cmd.SetAction(pr =>
        {
            int bs = Checks.Range("--batch", pr.GetValue(batch), 1), sd = pr.GetValue(seed);
            Checks.Range("--val-size", pr.GetValue(valSize), 1);
            Checks.Range("--workers", pr.GetValue(workers), 0, 256);
            if (pr.GetValue(maxBad) is int mb) Checks.Range("--max-bad-samples", mb, 0);
            var fmt = pr.GetValue(format)!;
            if (fmt is not ("video" or "rawframes" or "folders")) throw new ArgumentException($"--data-format '{fmt}' is unknown (video, rawframes, folders)");
            // The recipe options are checked before any file is read (at the flags' or the defaults' clip shape).
            var (f0, s0) = recipe.ClipShape(pr, cmd, pr.GetValue(ck.Frames) ?? CheckpointOptions.DefaultFrames, pr.GetValue(ck.Size) ?? CheckpointOptions.DefaultSize);
            recipe.Check(pr, cmd, f0, s0, training: false);
            var dev = DeviceOption.Resolve(pr.GetValue(device)!);
            var list = pr.GetValue(data);
            // A self-describing checkpoint gives the pipeline and the class names; for an old one the dataset is built first,
            // from the flags, and gives the class count.
            IVideoDataset Dataset(ClipPipeline pipeline, ClipGeometry clip, IReadOnlyList<string>? names) => list == null
                ? new SyntheticMotionDataset(new SyntheticMotionOptions { Frames = clip.Frames, Size = clip.Size, ValidationCount = pr.GetValue(valSize), Seed = sd }, DatasetSplit.Validation)
                : TrainCommands.FileDataset(list, fmt, TrainCommands.NonEmpty(pr.GetValue(root)), TrainCommands.NonEmpty(pr.GetValue(ck.Classes)), pipeline, names, recipe.Frames(pr, cmd));
            IVideoDataset? ds = null;
            // An old checkpoint is evaluated as before: the flags, or a --recipe's frames, size, views and sampling.
            var loaded = ck.Load(pr, clip =>
            {
                var (frames, size) = recipe.ClipShape(pr, cmd, clip.Frames, clip.Size);
                recipe.Check(pr, cmd, frames, size, training: false);
                var (clips, crops) = TrainCommands.ParseViews(recipe.Views(pr, cmd, pr.GetValue(ck.Views) ?? "1x1"));
                var shaped = clip with { Frames = frames, Size = size, TestShortSide = size };
                return (ds = Dataset(TrainCommands.Pipeline(recipe, pr, cmd, frames, size, false, list, clips, crops), shaped, null)).ClassNames.Count;
            });
            if (list == null && loaded.Record?.Dataset is string trained && trained != SyntheticMotionDataset.Name)
                throw new ArgumentException($"--data is required: {pr.GetValue(ck.Checkpoint)} was trained on {trained}, not {SyntheticMotionDataset.Name}");
            ds ??= Dataset(loaded.Pipeline(), loaded.Clip, loaded.ClassNames);
            var net = loaded.Model; net.To(dev);
            var view = ProgressView.Create(pr.GetValue(quiet));
            var r = view.Run(() =>
            {
                view.EvaluationStarted(0, (ds.Count + bs - 1) / bs);
                return Evaluator.Evaluate(net, ds, bs, pr.GetValue(workers), sd, pr.GetValue(strict), TrainCommands.BadSampleLogger(), view.EvaluationProgress);
            });
            int limit = pr.GetValue(maxBad) ?? ds.Count / 100;
            if (r.Skipped > limit)
                throw new DatasetException($"{r.Skipped} of {ds.Count} samples failed to load, more than the {limit} allowed (--max-bad-samples; default 1%)");
            if (r.Samples == 0) throw new DatasetException($"no sample of {list ?? SyntheticMotionDataset.Name} could be loaded");
            var skipped = r.Skipped > 0 ? $" ({r.Skipped} skipped: could not be loaded)" : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Samples} samples{skipped}, {loaded.Clips}x{loaded.Crops} views, {loaded.Clip.Frames}x{loaded.Clip.Size}x{loaded.Clip.Size}: top1 {r.Top1:F4} top5 {r.Top5:F4} loss {r.Loss:F4}"));
            return 0;
        });
        return cmd;
    }
}
