using System.Diagnostics;
using System.Globalization;
using BindingFlags = System.Reflection.BindingFlags;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sifa.Autograd;
using Sifa.Data;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>One line of <c>metrics.jsonl</c>: the results of one epoch (accuracies are fractions in [0, 1]).</summary>
public sealed record EpochMetrics
{
    /// <summary>1-based epoch.</summary>
    [JsonPropertyName("epoch")] public int Epoch { get; init; }
    /// <summary>Mean training loss.</summary>
    [JsonPropertyName("train_loss")] public double TrainLoss { get; init; }
    /// <summary>Training top-1 (on the augmented training clips, in train mode).</summary>
    [JsonPropertyName("train_top1")] public double TrainTop1 { get; init; }
    /// <summary>Mean validation loss.</summary>
    [JsonPropertyName("val_loss")] public double ValLoss { get; init; }
    /// <summary>Validation top-1.</summary>
    [JsonPropertyName("val_top1")] public double ValTop1 { get; init; }
    /// <summary>Validation top-5.</summary>
    [JsonPropertyName("val_top5")] public double ValTop5 { get; init; }
    /// <summary>Learning rate at the end of the epoch (first group).</summary>
    [JsonPropertyName("lr")] public double Lr { get; init; }
    /// <summary>Optimizer steps taken so far.</summary>
    [JsonPropertyName("step")] public long Step { get; init; }
    /// <summary>Wall time of the epoch (training and validation).</summary>
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
}

/// <summary>Results of an evaluation pass.</summary>
/// <param name="Loss">Mean cross-entropy of the (view-averaged) predictions.</param>
/// <param name="Top1">Top-1 accuracy in [0, 1].</param>
/// <param name="Top5">Top-5 accuracy in [0, 1].</param>
/// <param name="Samples">Samples evaluated.</param>
public sealed record EvalResult(double Loss, double Top1, double Top5, int Samples);

/// <summary>
/// Trains an <see cref="IVideoModel"/>: AdamW or Nesterov SGD with decay exclusions, cosine schedule with warm-up,
/// label smoothing, global-norm clipping; validates every epoch; writes <c>metrics.jsonl</c>, <c>curves.svg</c> and an
/// atomic checkpoint (model, optimizer, schedule, epoch) each epoch and resumes from it. All randomness derives from
/// (seed, epoch, index): data order and augmentation come from the loader's seed and epoch, and the model's dropout
/// generators are re-seeded at the start of every epoch, so a resumed run reproduces an uninterrupted one.
/// </summary>
public sealed class Trainer
{
    /// <summary>Model weights file in the output folder.</summary>
    public const string CheckpointFile = "checkpoint.safetensors";
    /// <summary>Optimizer state file in the output folder.</summary>
    public const string OptimizerFile = "optimizer.safetensors";
    /// <summary>Trainer state file in the output folder.</summary>
    public const string StateFile = "trainer_state.json";
    /// <summary>Metrics file in the output folder.</summary>
    public const string MetricsFile = "metrics.jsonl";
    /// <summary>Plot file in the output folder.</summary>
    public const string CurvesFile = "curves.svg";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly Module _model;
    private readonly IVideoModel _video;
    private readonly IVideoDataset _train;
    private readonly IVideoDataset? _val;
    private readonly TextWriter _log;

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model (a module implementing <see cref="IVideoModel"/>).</param>
    /// <param name="train">Training data.</param>
    /// <param name="val">Validation data (null skips validation).</param>
    /// <param name="options">Settings.</param>
    /// <param name="log">Where per-epoch summaries go (stdout when null).</param>
    public Trainer(Module model, IVideoDataset train, IVideoDataset? val, TrainerOptions options, TextWriter? log = null)
    {
        options.Validate();
        _model = model;
        _video = model as IVideoModel ?? throw new ArgumentException("the model is not a video model (IVideoModel)");
        _train = train; _val = val; Options = options;
        _log = log ?? Console.Out;
    }

    /// <summary>The settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Metrics of every finished epoch (including those before a resume).</summary>
    public List<EpochMetrics> History { get; } = new();

    /// <summary>Runs training up to <see cref="TrainerOptions.Epochs"/> epochs (resuming when asked).</summary>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <returns>The metrics of all epochs.</returns>
    public IReadOnlyList<EpochMetrics> Run(CancellationToken cancellationToken = default)
    {
        var o = Options;
        Directory.CreateDirectory(o.OutDir);
        var groups = ParamGroup.SplitDecay(_model, o.WeightDecay);
        Optimizer opt = o.Optimizer == "sgd"
            ? new SGD(groups, o.Lr, momentum: o.Momentum, weightDecay: o.WeightDecay, nesterov: true)
            : new AdamW(groups, o.Lr, weightDecay: o.WeightDecay);
        var loader = new VideoDataLoader(_train, new DataLoaderOptions { BatchSize = o.BatchSize, Shuffle = true, Seed = o.Seed, Workers = o.Workers, DropLast = _train.Count >= 2 * o.BatchSize });
        long total = (long)loader.BatchesPerEpoch * o.Epochs;
        var sched = new CosineSchedule(opt, Math.Min(o.WarmupSteps, Math.Max(0, total - 1)), total);
        int startEpoch = 0;
        string metricsPath = Path.Combine(o.OutDir, MetricsFile);
        if (o.Resume && File.Exists(Path.Combine(o.OutDir, StateFile)))
        {
            var st = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(o.OutDir, StateFile)))
                     ?? throw new InvalidDataException("empty trainer state");
            _model.Load(Path.Combine(o.OutDir, CheckpointFile));
            opt.LoadStateDict(OptimizerState.Load(Path.Combine(o.OutDir, OptimizerFile)));
            sched.StepCount = st.ScheduleStep;
            startEpoch = st.Epoch;
            History.AddRange(st.History);
            _log.WriteLine($"resumed from {o.OutDir} after epoch {startEpoch} (step {st.ScheduleStep})");
        }
        else sched.StepCount = 0;
        WriteAtomic(metricsPath, string.Concat(History.Select(h => JsonSerializer.Serialize(h, Json) + "\n")));

        int endEpoch = o.StopAfterEpochs > 0 ? Math.Min(o.Epochs, startEpoch + o.StopAfterEpochs) : o.Epochs;
        for (int epoch = startEpoch; epoch < endEpoch; epoch++)
        {
            var sw = Stopwatch.StartNew();
            ReseedGenerators(_model, o.Seed, epoch);
            _model.Train();
            double lossSum = 0; int correct = 0, seen = 0, step = 0, steps = loader.BatchesPerEpoch;
            foreach (var batch in loader.GetEpoch(epoch, cancellationToken))
            {
                float lv;
                // One step's activations and gradients live in a scope: their arrays are reused by the next step.
                using (TensorScope.Begin())
                {
                    var logits = _video.Forward(new Variable(batch.Clips));
                    var loss = Ops.CrossEntropy(logits, batch.Labels, o.LabelSmoothing);
                    opt.ZeroGrad();
                    loss.Backward();
                    if (o.ClipGradNorm > 0) ClipGradNorm(opt.Parameters, o.ClipGradNorm);
                    opt.Step();
                    opt.ZeroGrad(); // the gradients' arrays go back to the pool with the scope
                    lv = loss.Data.ToArray()[0];
                    correct += CountTopK(logits.Data.ToArray(), logits.Shape[1], batch.Labels, 1);
                }
                sched.Step();
                lossSum += lv * batch.Count; seen += batch.Count;
                step++;
                if (o.Progress && !Console.IsErrorRedirected)
                {
                    double rate = seen / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
                    double eta = (steps - step) * (sw.Elapsed.TotalSeconds / step);
                    Console.Error.Write($"\repoch {epoch + 1}/{o.Epochs} step {step}/{steps} loss {lv:F4} {rate:F1} clips/s ETA {eta:F0}s   ");
                }
            }
            if (o.Progress && !Console.IsErrorRedirected) Console.Error.Write("\r" + new string(' ', 79) + "\r");
            var ev = _val != null ? Evaluate(_model, _val, o.EvalBatchSize > 0 ? o.EvalBatchSize : o.BatchSize, o.Workers, o.Seed) : new EvalResult(double.NaN, double.NaN, double.NaN, 0);
            var m = new EpochMetrics
            {
                Epoch = epoch + 1, TrainLoss = lossSum / Math.Max(1, seen), TrainTop1 = (double)correct / Math.Max(1, seen),
                ValLoss = ev.Loss, ValTop1 = ev.Top1, ValTop5 = ev.Top5, Lr = opt.Groups[0].Lr, Step = sched.StepCount,
                Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
            };
            History.Add(m);
            File.AppendAllText(metricsPath, JsonSerializer.Serialize(m, Json) + "\n");
            WriteAtomic(Path.Combine(o.OutDir, CurvesFile), CurvePlot.Svg(History));
            SaveCheckpoint(opt, sched, epoch + 1);
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}/{o.Epochs}: train loss {m.TrainLoss:F4} top1 {m.TrainTop1:F3} | val loss {m.ValLoss:F4} top1 {m.ValTop1:F3} top5 {m.ValTop5:F3} | lr {m.Lr:G3} | {m.Seconds:F1}s"));
        }
        return History;
    }

    private void SaveCheckpoint(Optimizer opt, CosineSchedule sched, int epoch)
    {
        var o = Options;
        var meta = new Dictionary<string, string> { ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture) };
        _model.Save(Path.Combine(o.OutDir, CheckpointFile), meta);
        var os = opt.StateDict();
        os.Values["epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        os.Save(Path.Combine(o.OutDir, OptimizerFile));
        var st = new TrainerState { Epoch = epoch, ScheduleStep = sched.StepCount, Seed = o.Seed, History = History.ToList() };
        WriteAtomic(Path.Combine(o.OutDir, StateFile), JsonSerializer.Serialize(st, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Writes a file atomically (temporary file in the same folder, then rename).</summary>
    /// <param name="path">The destination.</param>
    /// <param name="text">The content.</param>
    public static void WriteAtomic(string path, string text)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Re-seeds the generator of every <see cref="IStochasticModule"/> (dropout / drop-path masks) from (seed, epoch, module index).</summary>
    /// <param name="model">The model.</param>
    /// <param name="seed">Run seed.</param>
    /// <param name="epoch">0-based epoch.</param>
    public static void ReseedGenerators(Module model, int seed, int epoch)
    {
        int i = 0;
        foreach (var (_, m) in model.NamedModules())
            if (m is IStochasticModule s)
                s.Generator.Reseed(Mix(((ulong)(uint)seed << 32) ^ ((ulong)(uint)epoch << 12) ^ (ulong)(i++) ^ 0x64726f7000000000UL));
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Scales all gradients so that their global L2 norm is at most <paramref name="maxNorm"/>.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="maxNorm">The largest norm.</param>
    /// <returns>The norm before clipping.</returns>
    public static double ClipGradNorm(IEnumerable<Variable> parameters, double maxNorm) => GradClip.ClipGradNorm(parameters, maxNorm);

    /// <summary>Counts rows whose label is among the top <paramref name="k"/> scores.</summary>
    /// <param name="scores">Row-major (N, classes).</param>
    /// <param name="classes">Classes.</param>
    /// <param name="labels">N labels.</param>
    /// <param name="k">k.</param>
    /// <returns>The count.</returns>
    public static int CountTopK(float[] scores, int classes, int[] labels, int k)
    {
        int c = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            float t = scores[n * classes + labels[n]];
            int higher = 0;
            for (int j = 0; j < classes; j++)
            {
                float v = scores[n * classes + j];
                if (v > t || (v == t && j < labels[n])) higher++;
            }
            if (higher < k) c++;
        }
        return c;
    }

    /// <summary>
    /// Evaluates in eval mode without gradients: softmax of every view, averaged over a sample's views
    /// (clips × crops), then top-1 / top-5 and the mean negative log of the averaged probability of the label.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The data (its pipeline decides the views).</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="workers">Loader workers.</param>
    /// <param name="seed">Loader seed.</param>
    /// <returns>The result.</returns>
    public static EvalResult Evaluate(Module model, IVideoDataset data, int batchSize, int workers = 1, int seed = 0)
    {
        var video = model as IVideoModel ?? throw new ArgumentException("the model is not a video model (IVideoModel)");
        bool was = model.IsTraining;
        model.Eval();
        var loader = new VideoDataLoader(data, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false, Seed = seed, Workers = workers });
        double loss = 0; int top1 = 0, top5 = 0, n = 0;
        using (GradMode.NoGrad())
        {
            foreach (var batch in loader.GetEpoch(0))
            {
                float[] probs;
                using (TensorScope.Begin()) probs = AveragedProbabilities(video, batch.Clips, batch.ViewsPerSample);
                int k = probs.Length / batch.Count;
                for (int i = 0; i < batch.Count; i++) loss -= Math.Log(Math.Max(1e-12, probs[i * k + batch.Labels[i]]));
                top1 += CountTopK(probs, k, batch.Labels, 1);
                top5 += CountTopK(probs, k, batch.Labels, 5);
                n += batch.Count;
            }
        }
        model.Train(was);
        return new EvalResult(loss / Math.Max(1, n), (double)top1 / Math.Max(1, n), (double)top5 / Math.Max(1, n), n);
    }

    /// <summary>Class probabilities per sample: softmax of each view's logits averaged over consecutive groups of <paramref name="views"/> rows.</summary>
    /// <param name="model">The model.</param>
    /// <param name="clips">Clips (N * V, T, 3, H, W).</param>
    /// <param name="views">Views per sample (V).</param>
    /// <returns>Row-major (N, classes) probabilities.</returns>
    public static float[] AveragedProbabilities(IVideoModel model, Tensor clips, int views)
    {
        using var _ = GradMode.NoGrad();
        var p = Ops.Softmax(model.Forward(new Variable(clips)), -1);
        int rows = p.Shape[0], k = p.Shape[1], n = rows / views;
        var a = p.Data.ToArray();
        var r = new float[n * k];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < k; j++) r[i / views * k + j] += a[i * k + j] / views;
        return r;
    }

    private sealed class TrainerState
    {
        public int Epoch { get; set; }
        public long ScheduleStep { get; set; }
        public int Seed { get; set; }
        public List<EpochMetrics> History { get; set; } = new();
    }
}
