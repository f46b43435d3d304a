using System.CommandLine;
using System.Globalization;
using Sifa.Data;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>The <c>train</c>, <c>eval</c> and <c>predict</c> commands.</summary>
internal static class TrainCommands
{
    /// <summary>Creates the commands.</summary>
    /// <returns>train, eval, predict.</returns>
    public static IEnumerable<Command> Create()
    {
        yield return TrainCommand();
        yield return EvalCommand();
        yield return PredictCommand();
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
        public Option<string> Model = new("--model") { DefaultValueFactory = _ => "sifa-tiny", Description = "Model preset" };

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Model, Data, Format, Root, ValData, Classes, Frames, Size, ValSize, Seed, Workers, Device }) c.Add(o);
        }
    }

    private static ClipPipeline Pipeline(int frames, int size, bool training, int clips = 1, int crops = 1) =>
        new(new DenseSampler(frames, 2, clips), training, new ClipTransformOptions
        {
            ShortSideMin = size, ShortSideMax = size * 5 / 4, CropSize = size, TestShortSide = size, TestCropSize = size,
            TestCrop = crops == 3 ? TestCropMode.ThreeCrop : TestCropMode.Center, HorizontalFlip = false,
        });

    private static IVideoDataset FileDataset(string path, string format, string? root, string? classes, ClipPipeline p) => format switch
    {
        "video" => new VideoListDataset(path, root, p, classes),
        "rawframes" => new RawFrameDataset(path, root, p, classes),
        "folders" => new ClassFolderDataset(path, p, classes),
        _ => throw new ArgumentException($"unknown --data-format '{format}' (video, rawframes, folders)"),
    };

    private static Command TrainCommand()
    {
        var cmd = new Command("train", "Train a model (synthetic-motion when no --data); writes metrics.jsonl, curves.svg and checkpoints to --out.");
        var d = new DataOpts();
        d.AddTo(cmd);
        var outDir = new Option<string?>("--out") { Description = "Output folder (default runs/<model>)" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => Defaults.Epochs, Description = "Total epochs" };
        var batch = BatchOption();
        var trainSize = new Option<int>("--train-size") { DefaultValueFactory = _ => 6144, Description = "Synthetic training clips" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => Defaults.Lr, Description = "Peak learning rate" };
        var optim = new Option<string>("--optimizer") { DefaultValueFactory = _ => Defaults.Optimizer, Description = $"{string.Join(" | ", OptimizerFactory.Names)} (sgd: Nesterov, momentum {Defaults.Momentum})" };
        var wd = new Option<double>("--weight-decay") { DefaultValueFactory = _ => Defaults.WeightDecay, Description = "Weight decay" };
        var warmup = new Option<int>("--warmup-steps") { DefaultValueFactory = _ => Defaults.WarmupSteps, Description = "Warm-up optimizer steps" };
        var smoothing = new Option<float>("--label-smoothing") { DefaultValueFactory = _ => Defaults.LabelSmoothing, Description = "Label smoothing" };
        var clip = new Option<double>("--clip-grad") { DefaultValueFactory = _ => Defaults.ClipGradNorm, Description = "Global gradient-norm clip (0: off)" };
        var onNan = new Option<string>("--on-nan") { DefaultValueFactory = _ => "stop", Description = "At a step with a non-finite loss or gradient: stop (exit 1, last checkpoint kept) | skip-step" };
        var pretrained = PretrainedOption.Create();
        foreach (var o in new Option[] { outDir, epochs, batch, trainSize, resume, lr, optim, wd, warmup, smoothing, clip, onNan, pretrained }) cmd.Add(o);
        cmd.SetAction(pr =>
        {
            string model = pr.GetValue(d.Model)!;
            var device = DeviceOption.Resolve(pr.GetValue(d.Device)!);
            int frames = pr.GetValue(d.Frames), size = pr.GetValue(d.Size), seed = pr.GetValue(d.Seed);
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
                string fmt = pr.GetValue(d.Format)!, root = pr.GetValue(d.Root) ?? "", classes = pr.GetValue(d.Classes) ?? "";
                train = FileDataset(data, fmt, root.Length > 0 ? root : null, classes.Length > 0 ? classes : null, Pipeline(frames, size, true));
                var vd = pr.GetValue(d.ValData) ?? throw new ArgumentException("--val-data is required with --data");
                val = FileDataset(vd, fmt, root.Length > 0 ? root : null, classes.Length > 0 ? classes : null, Pipeline(frames, size, false));
            }
            var net = Presets.Create(model, train.ClassNames.Count, null, size, new Generator((ulong)seed));
            if (!pr.GetValue(resume)) PretrainedOption.Apply(net, pr.GetValue(pretrained));
            var opts = Defaults with
            {
                Epochs = pr.GetValue(epochs), BatchSize = pr.GetValue(batch), Lr = pr.GetValue(lr), Optimizer = pr.GetValue(optim)!.ToLowerInvariant(),
                WeightDecay = pr.GetValue(wd), WarmupSteps = pr.GetValue(warmup), LabelSmoothing = pr.GetValue(smoothing), ClipGradNorm = pr.GetValue(clip),
                Seed = seed, Workers = pr.GetValue(d.Workers), Device = device, OutDir = pr.GetValue(outDir) ?? Path.Combine("runs", model),
                Resume = pr.GetValue(resume), OnNan = ParseNanPolicy(pr.GetValue(onNan)!),
            };
            Console.WriteLine($"train {model} ({net.ParameterCount():N0} parameters) on {(data ?? SyntheticMotionDataset.Name)}: {train.Count} train / {val.Count} val clips, {frames}x{size}x{size}, out {opts.OutDir}");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var hist = new Trainer(net, train, val, opts).Run();
            var last = hist[^1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done in {sw.Elapsed.TotalSeconds:F1}s: val top1 {last.ValTop1:F3} top5 {last.ValTop5:F3}"));
            return 0;
        });
        return cmd;
    }

    private static NanPolicy ParseNanPolicy(string s) => s.ToLowerInvariant() switch
    {
        "stop" => NanPolicy.Stop,
        "skip-step" => NanPolicy.SkipStep,
        _ => throw new ArgumentException($"--on-nan '{s}': expected stop or skip-step"),
    };

    private static Option<int> BatchOption() =>
        new("--batch") { DefaultValueFactory = _ => Defaults.BatchSize, Description = "Batch size" };

    private static (int Clips, int Crops) ParseViews(string s)
    {
        var p = s.ToLowerInvariant().Split('x', '×');
        if (p.Length != 2 || !int.TryParse(p[0], out int a) || !int.TryParse(p[1], out int b) || a < 1 || b is not (1 or 3))
            throw new ArgumentException($"--views '{s}': expected CLIPSxCROPS with crops 1 or 3, e.g. 1x1 or 10x3");
        return (a, b);
    }

    private static Command EvalCommand()
    {
        var cmd = new Command("eval", "Evaluate a checkpoint (multi-view: clips x crops, averaged softmax); prints top-1/top-5.");
        var d = new DataOpts();
        d.AddTo(cmd);
        var ckpt = new Option<string>("--checkpoint") { Required = true, Description = "Model weights: a Sifa .safetensors checkpoint or a PyTorch .pth" };
        var views = new Option<string>("--views") { DefaultValueFactory = _ => "1x1", Description = "Test views CLIPSxCROPS (file data)" };
        var batch = BatchOption();
        cmd.Add(ckpt); cmd.Add(views); cmd.Add(batch);
        cmd.SetAction(pr =>
        {
            var device = DeviceOption.Resolve(pr.GetValue(d.Device)!);
            int frames = pr.GetValue(d.Frames), size = pr.GetValue(d.Size), seed = pr.GetValue(d.Seed);
            var (clips, crops) = ParseViews(pr.GetValue(views)!);
            var data = pr.GetValue(d.Data);
            IVideoDataset ds = data == null
                ? new SyntheticMotionDataset(new SyntheticMotionOptions { Frames = frames, Size = size, ValidationCount = pr.GetValue(d.ValSize), Seed = seed }, DatasetSplit.Validation)
                : FileDataset(data, pr.GetValue(d.Format)!, pr.GetValue(d.Root), pr.GetValue(d.Classes), Pipeline(frames, size, false, clips, crops));
            var net = Presets.Create(pr.GetValue(d.Model)!, ds.ClassNames.Count, null, size);
            LoadWeights(net, pr.GetValue(ckpt)!);
            net.To(device);
            var r = Evaluator.Evaluate(net, ds, pr.GetValue(batch), pr.GetValue(d.Workers), seed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Samples} samples: top1 {r.Top1:F4} top5 {r.Top5:F4} loss {r.Loss:F4}"));
            return 0;
        });
        return cmd;
    }

    private static Command PredictCommand()
    {
        var cmd = new Command("predict", "Top-5 classes of one video.");
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "sifa-tiny", Description = "Model preset" };
        var ckpt = new Option<string>("--checkpoint") { Required = true, Description = "Model weights: a Sifa .safetensors checkpoint or a PyTorch .pth" };
        var classes = new Option<string>("--classes") { Required = true, Description = "Class names file (one per line)" };
        var frames = new Option<int>("--frames") { DefaultValueFactory = _ => 8, Description = "Frames per clip" };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 32, Description = "Frame side" };
        var views = new Option<string>("--views") { DefaultValueFactory = _ => "1x1", Description = "Test views CLIPSxCROPS" };
        var device = DeviceOption.Create();
        var video = new Argument<string>("video") { Description = "Video file" };
        foreach (var o in new Option[] { model, ckpt, classes, frames, size, views, device }) cmd.Add(o);
        cmd.Add(video);
        cmd.SetAction(pr =>
        {
            var dev = DeviceOption.Resolve(pr.GetValue(device)!);
            var names = AnnotationFiles.ReadClassNames(pr.GetValue(classes)!);
            int s = pr.GetValue(size);
            var (nc, ncrop) = ParseViews(pr.GetValue(views)!);
            var net = Presets.Create(pr.GetValue(model)!, names.Count, null, s);
            LoadWeights(net, pr.GetValue(ckpt)!);
            net.To(dev).Eval();
            var pipe = Pipeline(pr.GetValue(frames), s, false, nc, ncrop);
            var sample = pipe.Run(new VideoFileSource(pr.GetValue(video)!), 0, new Random(0));
            var clips = Tensor.FromArray(sample.Data, sample.Views, sample.Frames, 3, sample.Height, sample.Width);
            var probs = Evaluator.AveragedProbabilities(net, clips, sample.Views);
            if (!probs.All(float.IsFinite)) throw new NonFiniteException($"{pr.GetValue(video)}: the model's probabilities are not finite");
            foreach (var i in Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).Take(5))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{probs[i]:F4}  {names[i]}"));
            return 0;
        });
        return cmd;
    }

    // Sifa checkpoints load strictly; PyTorch .pth files go through the importer (derived buffers recomputed, SPEC section 6).
    // Weights with a NaN or infinity are refused: they would score NaN, which means nothing.
    private static void LoadWeights(Sifa.Nn.Module net, string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) net.Load(path);
        else PretrainedOption.Apply(net, path);
        Evaluator.EnsureFiniteWeights(net, path);
    }
}
