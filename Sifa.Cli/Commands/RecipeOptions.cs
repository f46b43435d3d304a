using System.CommandLine;
using System.Globalization;
using Sifa.Data;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>
/// A named training recipe (<c>--recipe</c>, docs/recipes.md): the values that the clip, sampling, augmentation and
/// optimisation flags take when they are not given on the command line (a flag given always wins).
/// </summary>
internal sealed record Recipe
{
    /// <summary>The name (<c>--recipe NAME</c>).</summary>
    public required string Name { get; init; }

    /// <summary>What the recipe is for.</summary>
    public required string Summary { get; init; }

    /// <summary>Frames per clip.</summary>
    public int Frames { get; init; } = 16;

    /// <summary>Training crop side.</summary>
    public int Size { get; init; } = 224;

    /// <summary>Training short side range.</summary>
    public (int Min, int Max) ShortSide { get; init; } = (256, 340);

    /// <summary>Test-time short side and crop side.</summary>
    public int TestSize { get; init; } = 256;

    /// <summary>Evaluation views (CLIPSxCROPS).</summary>
    public string Views { get; init; } = "10x3";

    /// <summary>Frame sampling.</summary>
    public SamplingMode Sampling { get; init; } = SamplingMode.Consecutive;

    /// <summary>Horizontal flips in training.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Augmentations.</summary>
    public ClipAugmentOptions Augment { get; init; } = ClipAugmentOptions.None;

    /// <summary>Frame file names of rawframe lists (null: the CLI default).</summary>
    public string? FrameTemplate { get; init; }

    /// <summary>Training settings, by the flag that overrides each.</summary>
    public required IReadOnlyList<(string Flag, Func<TrainerOptions, TrainerOptions> Set)> Train { get; init; }

    private static (string, Func<TrainerOptions, TrainerOptions>)[] Sgd(double lr, int epochs, double warmupEpochs) =>
    [
        ("--epochs", o => o with { Epochs = epochs }),
        ("--batch", o => o with { BatchSize = 32 }),
        ("--accumulate", o => o with { Accumulate = 8 }),
        ("--lr", o => o with { Lr = lr }),
        ("--optimizer", o => o with { Optimizer = "sgd" }),
        ("--momentum", o => o with { Momentum = 0.9 }),
        ("--nesterov", o => o with { Nesterov = false }),
        ("--weight-decay", o => o with { WeightDecay = 1e-4 }),
        ("--wd-exclude-norm-bias", o => o with { WeightDecayExcludeNormBias = false }),
        ("--warmup-epochs", o => o with { WarmupEpochs = warmupEpochs }),
        ("--warmup-factor", o => o with { WarmupStartFactor = 0.01 }),
        ("--min-lr", o => o with { MinLr = 1e-6 }),
        ("--label-smoothing", o => o with { LabelSmoothing = 0f }),
        ("--clip-grad", o => o with { ClipGradNorm = 40 }),
    ];

    /// <summary>The recipes, by name.</summary>
    public static IReadOnlyList<Recipe> All { get; } =
    [
        new() { Name = "kinetics400", Summary = "Kinetics-400, the paper's settings (SIFA-Net)", Train = Sgd(0.04, 128, 1) },
        new() { Name = "sthv1", Summary = "Something-Something V1, the paper's settings (no flips)", Views = "1x3", Flip = false, FrameTemplate = "{:05d}.jpg", Train = Sgd(0.04, 64, 5) },
        new() { Name = "sthv2", Summary = "Something-Something V2, the paper's settings (no flips)", Views = "1x3", Flip = false, Train = Sgd(0.04, 64, 5) },
        new() { Name = "kinetics400-official", Summary = "Kinetics-400, the official code's augmentation", Augment = ClipAugmentOptions.Official, Train = Sgd(0.04, 128, 1) },
        new() { Name = "sthv1-official", Summary = "Something-Something V1, the official code's RandAugment and lr", Views = "1x3", Flip = false,
            FrameTemplate = "{:05d}.jpg", Augment = ClipAugmentOptions.OfficialRandAugment, Train = Sgd(0.02, 64, 5) },
    ];

    /// <summary>The recipe called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such recipe.</exception>
    public static Recipe Get(string name) =>
        All.FirstOrDefault(r => r.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"--recipe '{name}' is unknown; recipes: {string.Join(", ", All.Select(r => r.Name))}");
}

/// <summary>
/// The training-recipe options of <c>sifa train</c> and <c>eval</c>: named recipes, frame sampling, rawframe names,
/// augmentations, and the optimizer / schedule / accumulation settings. Invalid values fail in one line naming the option.
/// </summary>
internal sealed class RecipeOptions
{
    private static readonly TrainerOptions D = TrainerOptions.Defaults;

    public Option<string?> RecipeName = new("--recipe") { Description = $"Named recipe ({string.Join(", ", Recipe.All.Select(r => r.Name))}); flags override it (docs/recipes.md)" };
    public Option<string> Sampling = new("--sampling") { DefaultValueFactory = _ => "dense", Description = "dense (frames an interval apart, centred test clips) | consecutive (official SIFA) | segments (TSN)" };
    public Option<int?> FrameInterval = new("--frame-interval") { Description = "Step between sampled frames (default: dense 2, consecutive 1)" };
    public Option<string> FrameTemplate = new("--frame-template") { DefaultValueFactory = _ => "img_{:05}.jpg", Description = "Frame file names of --data-format rawframes (official lists: {:05d}.jpg)" };
    public Option<int> FrameStart = new("--frame-start") { DefaultValueFactory = _ => 1, Description = "Number of the first frame file (rawframes)" };

    // Training only.
    public Option<string> Flip = new("--flip") { DefaultValueFactory = _ => "auto", Description = "Horizontal flips in training: auto (off for Something-Something and synthetic-motion) | on | off" };
    public Option<string> Crop = new("--crop") { DefaultValueFactory = _ => "short-side", Description = "Training crop: short-side | random-resized (scale 0.2-1, ratio 3/4-4/3) | multi-scale" };
    public Option<string?> ColorJitter = new("--color-jitter") { Description = "Colour jitter B,C,S,H (official 0.4,0.4,0.4,0.1)" };
    public Option<double> ColorJitterP = new("--color-jitter-p") { DefaultValueFactory = _ => 0.8, Description = "Probability of colour jitter per clip" };
    public Option<double> GrayscaleP = new("--grayscale-p") { DefaultValueFactory = _ => 0, Description = "Probability of grayscale per clip (official 0.2)" };
    public Option<double> BlurP = new("--blur-p") { DefaultValueFactory = _ => 0, Description = "Probability of a Gaussian blur (σ 0.1-2) per clip (official 0.5)" };
    public Option<string?> RandAugment = new("--rand-augment") { Description = "RandAugment N,M (official Something-Something: 2,27); replaces colour jitter, grayscale and blur" };
    public Option<double> Momentum = new("--momentum") { DefaultValueFactory = _ => D.Momentum, Description = "SGD momentum" };
    public Option<bool> Nesterov = new("--nesterov") { DefaultValueFactory = _ => D.Nesterov, Description = "SGD with Nesterov momentum (default true; false: plain momentum, official)" };
    public Option<bool> WdExclude = new("--wd-exclude-norm-bias") { DefaultValueFactory = _ => D.WeightDecayExcludeNormBias, Description = "Keep norm weights and biases out of weight decay (default true; false: decay all, official)" };
    public Option<double> WarmupEpochs = new("--warmup-epochs") { DefaultValueFactory = _ => 0, Description = "Warm-up in epochs (replaces --warmup-steps when > 0)" };
    public Option<double> WarmupFactor = new("--warmup-factor") { DefaultValueFactory = _ => D.WarmupStartFactor, Description = "Warm-up starts at lr x factor (official 0.01)" };
    public Option<double> MinLr = new("--min-lr") { DefaultValueFactory = _ => D.MinLr, Description = "Floor of the cosine decay (official 1e-6)" };
    public Option<int> Accumulate = new("--accumulate") { DefaultValueFactory = _ => D.Accumulate, Description = "Batches per optimizer step (gradient accumulation, official iter_size)" };

    private Option[] Shared => [RecipeName, Sampling, FrameInterval, FrameTemplate, FrameStart];

    private Option[] TrainOnly => [Flip, Crop, ColorJitter, ColorJitterP, GrayscaleP, BlurP, RandAugment, Momentum, Nesterov, WdExclude, WarmupEpochs, WarmupFactor, MinLr, Accumulate];

    /// <summary>Adds the options (<paramref name="training"/>: all of them; else those that evaluation uses).</summary>
    public void AddTo(Command c, bool training)
    {
        foreach (var o in Shared) c.Add(o);
        if (training) foreach (var o in TrainOnly) c.Add(o);
    }

    /// <summary>Checks every value of these options up front (also when the data is synthetic and does not use them).</summary>
    public void Check(ParseResult pr, Command cmd, int frames, int size, bool training)
    {
        RecipeOf(pr);
        Frames(pr, cmd);
        _ = new ClipPipeline(Sampler(pr, cmd, frames, 1), training, Transform(pr, cmd, size, training, 1, null));
    }

    /// <summary>The recipe asked for, or null.</summary>
    public Recipe? RecipeOf(ParseResult pr) => pr.GetValue(RecipeName) is { Length: > 0 } n ? Recipe.Get(n) : null;

    private static bool Given(ParseResult pr, Command cmd, string flag) =>
        cmd.Options.FirstOrDefault(o => o.Name == flag) is { } o && pr.GetResult(o) is { Implicit: false };

    /// <summary>Frames and size: the flags, else the recipe's.</summary>
    public (int Frames, int Size) ClipShape(ParseResult pr, Command cmd, int frames, int size)
    {
        if (RecipeOf(pr) is not { } r) return (frames, size);
        return (Given(pr, cmd, "--frames") ? frames : r.Frames, Given(pr, cmd, "--size") ? size : r.Size);
    }

    /// <summary>Evaluation views: the flag, else the recipe's.</summary>
    public string Views(ParseResult pr, Command cmd, string views) =>
        RecipeOf(pr) is { } r && !Given(pr, cmd, "--views") ? r.Views : views;

    /// <summary>The rawframe file-name template and first number, checked.</summary>
    public (string Template, int Start) Frames(ParseResult pr, Command cmd)
    {
        var t = pr.GetValue(FrameTemplate)!;
        if (!Given(pr, cmd, "--frame-template") && RecipeOf(pr)?.FrameTemplate is { } rt) t = rt;
        var net = FrameFolderSource.NormalizeTemplate(t);
        if (!net.Contains("{0", StringComparison.Ordinal))
            throw new ArgumentException($"--frame-template '{t}' has no frame-number field (e.g. img_{{:05}}.jpg or {{:05d}}.jpg)");
        try { _ = string.Format(CultureInfo.InvariantCulture, net, 1); }
        catch (FormatException) { throw new ArgumentException($"--frame-template '{t}' is not a valid template (e.g. img_{{:05}}.jpg or {{:05d}}.jpg)"); }
        return (t, Checks.Range("--frame-start", pr.GetValue(FrameStart), 0));
    }

    /// <summary>The frame sampler of the flags (or recipe).</summary>
    public FrameSampler Sampler(ParseResult pr, Command cmd, int frames, int testClips)
    {
        var mode = ParseSampling(pr.GetValue(Sampling)!);
        if (!Given(pr, cmd, "--sampling") && RecipeOf(pr) is { } r) mode = r.Sampling;
        int interval = pr.GetValue(FrameInterval) is int i ? Checks.Range("--frame-interval", i, 1, 1024) : FrameSamplers.DefaultInterval(mode);
        return FrameSamplers.Create(mode, frames, interval, testClips);
    }

    private static SamplingMode ParseSampling(string s) => s.ToLowerInvariant() switch
    {
        "dense" => SamplingMode.Dense,
        "consecutive" => SamplingMode.Consecutive,
        "segments" or "tsn" => SamplingMode.Segments,
        _ => throw new ArgumentException($"--sampling '{s}' is unknown (dense, consecutive, segments)"),
    };

    /// <summary>
    /// Whether training flips: <c>--flip on|off</c>, else the recipe's, else on unless the data is direction-sensitive
    /// (synthetic-motion, or a --data path that names Something-Something).
    /// </summary>
    public bool FlipOn(ParseResult pr, Command cmd, string? dataPath)
    {
        var f = pr.GetValue(Flip)!.ToLowerInvariant();
        if (f is not ("auto" or "on" or "off")) throw new ArgumentException($"--flip '{f}' is unknown (auto, on, off)");
        if (f != "auto") return f == "on";
        if (RecipeOf(pr) is { } r) return r.Flip;
        return !DirectionSensitive.Is(dataPath ?? SyntheticMotionDataset.Name);
    }

    /// <summary>The clip transform of the flags (or recipe) for crop side <paramref name="size"/>.</summary>
    public ClipTransformOptions Transform(ParseResult pr, Command cmd, int size, bool training, int crops, string? dataPath)
    {
        var r = RecipeOf(pr);
        bool recipeSizes = r != null && !Given(pr, cmd, "--size");
        var t = new ClipTransformOptions
        {
            ShortSideMin = recipeSizes ? r!.ShortSide.Min : size, ShortSideMax = recipeSizes ? r!.ShortSide.Max : size * 5 / 4, CropSize = size,
            TestShortSide = recipeSizes ? r!.TestSize : size, TestCropSize = recipeSizes ? r!.TestSize : size,
            TestCrop = crops == 3 ? TestCropMode.ThreeCrop : TestCropMode.Center, HorizontalFlip = false,
        };
        if (!training) return t;
        return t with { HorizontalFlip = FlipOn(pr, cmd, dataPath), Augment = Augment(pr, cmd, r) };
    }

    private ClipAugmentOptions Augment(ParseResult pr, Command cmd, Recipe? r)
    {
        var a = r?.Augment ?? ClipAugmentOptions.None;
        bool Use(string flag) => r == null || Given(pr, cmd, flag);
        if (Use("--crop"))
        {
            a = a with
            {
                Crop = pr.GetValue(Crop)!.ToLowerInvariant() switch
                {
                    "short-side" => TrainCropMode.ShortSide,
                    "random-resized" => TrainCropMode.RandomResized,
                    "multi-scale" => TrainCropMode.MultiScale,
                    var s => throw new ArgumentException($"--crop '{s}' is unknown (short-side, random-resized, multi-scale)"),
                },
            };
        }
        if (pr.GetValue(ColorJitter) is { } cj)
        {
            var v = Numbers("--color-jitter", cj, 4, "B,C,S,H, e.g. 0.4,0.4,0.4,0.1");
            if (v.Take(3).Any(x => x < 0) || v[3] is < 0 or > 0.5) throw new ArgumentException($"--color-jitter '{cj}': B, C, S must be ≥ 0 and H in [0, 0.5]");
            a = a with { Brightness = v[0], Contrast = v[1], Saturation = v[2], Hue = v[3] };
        }
        if (Use("--color-jitter-p")) a = a with { ColorJitterProbability = Prob(pr, ColorJitterP) };
        if (Use("--grayscale-p")) a = a with { GrayscaleProbability = Prob(pr, GrayscaleP) };
        if (Use("--blur-p")) a = a with { BlurProbability = Prob(pr, BlurP) };
        if (pr.GetValue(RandAugment) is { } ra)
        {
            var v = Numbers("--rand-augment", ra, 2, "N,M, e.g. 2,27");
            if (v[0] is < 0 or > 16 || v[0] != Math.Floor(v[0]) || v[1] is < 0 or > 30)
                throw new ArgumentException($"--rand-augment '{ra}': N must be an integer in 0..16 and M in [0, 30]");
            a = a with { RandAugmentN = (int)v[0], RandAugmentM = v[1] };
        }
        return a;
    }

    private static double Prob(ParseResult pr, Option<double> o)
    {
        double p = pr.GetValue(o);
        return p is >= 0 and <= 1 ? p : throw new ArgumentException($"{o.Name} must be in [0, 1], got {p.ToString(CultureInfo.InvariantCulture)}");
    }

    private static double[] Numbers(string option, string text, int count, string usage)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var v = new double[parts.Length];
        if (parts.Length != count || parts.Where((p, i) => !double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !double.IsFinite(v[i])).Any())
            throw new ArgumentException($"{option} '{text}': expected {usage}");
        return v;
    }

    /// <summary>The line <c>sifa train</c> prints for a recipe: its name and the settings in effect.</summary>
    public static string Describe(Recipe r, TrainerOptions o, ClipPipeline? p)
    {
        static string I(FormattableString f) => FormattableString.Invariant(f);
        var warm = o.WarmupEpochs > 0 ? I($"{o.WarmupEpochs:G3} epochs") : I($"{o.WarmupSteps} steps");
        var s = I($"recipe {r.Name} ({r.Summary}): {o.Optimizer} lr {o.Lr:G4} momentum {o.Momentum:G3}{(o.Nesterov ? " nesterov" : "")} wd {o.WeightDecay:G3}")
            + (o.WeightDecayExcludeNormBias ? " (not on norm/bias)" : " (all parameters)")
            + I($", {o.Epochs} epochs, batch {o.BatchSize} x {o.Accumulate}, warm-up {warm} from x{o.WarmupStartFactor:G3}, min lr {o.MinLr:G3}")
            + I($", clip {o.ClipGradNorm:G3}, label smoothing {o.LabelSmoothing:G3}");
        if (p != null)
            s += $"; {p.Sampler.GetType().Name.Replace("Sampler", "").ToLowerInvariant()} sampling, flip {(p.Transform.HorizontalFlip ? "on" : "off")}, crop {p.Transform.Augment.Crop}";
        return s;
    }

    /// <summary>
    /// The training settings: <paramref name="o"/> (built from the train command's own flags) with this class's flags,
    /// then the recipe's values for every flag not given.
    /// </summary>
    public TrainerOptions ApplyTraining(ParseResult pr, Command cmd, TrainerOptions o)
    {
        o = o with
        {
            Momentum = pr.GetValue(Momentum), Nesterov = pr.GetValue(Nesterov), WeightDecayExcludeNormBias = pr.GetValue(WdExclude),
            WarmupEpochs = pr.GetValue(WarmupEpochs), WarmupStartFactor = pr.GetValue(WarmupFactor), MinLr = pr.GetValue(MinLr), Accumulate = pr.GetValue(Accumulate),
        };
        if (RecipeOf(pr) is { } r)
            foreach (var (flag, set) in r.Train)
                if (!Given(pr, cmd, flag)) o = set(o);
        return o;
    }
}
