using System.Diagnostics;
using System.Globalization;
using Sifa.Autograd;
using Sifa.Data;
using Sifa.Models;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>
/// Trains a <see cref="VideoModel"/> on <see cref="TrainerOptions.Device"/>: the optimizer of
/// <see cref="OptimizerFactory"/>, cosine schedule with warm-up, label smoothing, global-norm clipping; validates every
/// epoch (<see cref="Evaluator"/>); writes metrics, curves and a checkpoint each epoch and resumes from it
/// (<see cref="CheckpointStore"/>). All randomness derives from (seed, epoch, index): data order and augmentation come
/// from the loader's seed and epoch, and the dropout generators are re-seeded every epoch (<see cref="StochasticSeeds"/>),
/// so a resumed run reproduces an uninterrupted one.
/// </summary>
public sealed class Trainer
{
    private readonly VideoModel _model;
    private readonly IVideoDataset _train;
    private readonly IVideoDataset? _val;
    private readonly TextWriter _log;

    /// <summary>Creates a trainer; checks the settings (an unavailable device fails here, before any work).</summary>
    /// <param name="model">The model (moved to the device when training starts).</param>
    /// <param name="train">Training data.</param>
    /// <param name="val">Validation data (null skips validation).</param>
    /// <param name="options">Settings.</param>
    /// <param name="log">Where per-epoch summaries go (stdout when null).</param>
    public Trainer(VideoModel model, IVideoDataset train, IVideoDataset? val, TrainerOptions options, TextWriter? log = null)
    {
        options.Validate();
        _model = model;
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
        var store = new CheckpointStore(o.OutDir);
        _model.To(o.Device);
        var opt = OptimizerFactory.Create(_model, o);
        var loader = new VideoDataLoader(_train, new DataLoaderOptions { BatchSize = o.BatchSize, Shuffle = true, Seed = o.Seed, Workers = o.Workers, DropLast = _train.Count >= 2 * o.BatchSize });
        long total = (long)loader.BatchesPerEpoch * o.Epochs;
        var sched = new CosineSchedule(opt, Math.Min(o.WarmupSteps, Math.Max(0, total - 1)), total);
        int startEpoch = 0;
        if (o.Resume && store.CanResume)
        {
            var at = store.Load(_model, opt); // loads into the device tensors
            sched.StepCount = at.ScheduleStep;
            startEpoch = at.Epoch;
            History.AddRange(at.History);
            _log.WriteLine($"resumed from {o.OutDir} after epoch {startEpoch} (step {at.ScheduleStep})");
        }
        else sched.StepCount = 0;
        store.WriteMetrics(History);

        int endEpoch = o.StopAfterEpochs > 0 ? Math.Min(o.Epochs, startEpoch + o.StopAfterEpochs) : o.Epochs;
        for (int epoch = startEpoch; epoch < endEpoch; epoch++)
        {
            var sw = Stopwatch.StartNew();
            var meter = TrainEpoch(opt, sched, loader, epoch, sw, cancellationToken);
            var ev = _val != null ? Evaluator.Evaluate(_model, _val, o.EvalBatchSize > 0 ? o.EvalBatchSize : o.BatchSize, o.Workers, o.Seed) : EvalResult.None;
            var m = new EpochMetrics
            {
                Epoch = epoch + 1, TrainLoss = meter.MeanLoss, TrainTop1 = meter.Top1,
                ValLoss = ev.Loss, ValTop1 = ev.Top1, ValTop5 = ev.Top5, Lr = opt.Groups[0].Lr, Step = sched.StepCount,
                Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
            };
            History.Add(m);
            store.AppendMetrics(m);
            store.WriteCurves(History);
            store.Save(_model, opt, epoch + 1, sched.StepCount, o.Seed, History);
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}/{o.Epochs}: train loss {m.TrainLoss:F4} top1 {m.TrainTop1:F3} | val loss {m.ValLoss:F4} top1 {m.ValTop1:F3} top5 {m.ValTop5:F3} | lr {m.Lr:G3} | {m.Seconds:F1}s"));
        }
        return History;
    }

    private EpochMeter TrainEpoch(Optimizer opt, CosineSchedule sched, VideoDataLoader loader, int epoch, Stopwatch sw, CancellationToken cancellationToken)
    {
        var o = Options;
        StochasticSeeds.Reseed(_model, o.Seed, epoch);
        _model.Train();
        var meter = new EpochMeter();
        int step = 0, steps = loader.BatchesPerEpoch;
        bool progress = o.Progress && !Console.IsErrorRedirected;
        foreach (var batch in loader.GetEpoch(epoch, cancellationToken))
        {
            float lv; int correct;
            // One step's activations and gradients live in a scope: their arrays are reused by the next step.
            using (TensorScope.Begin())
            {
                var logits = _model.Forward(new Variable(batch.Clips.ToDevice(o.Device)));
                var loss = Ops.CrossEntropy(logits, batch.Labels, o.LabelSmoothing);
                opt.ZeroGrad();
                loss.Backward();
                if (o.ClipGradNorm > 0) GradClip.ClipGradNorm(opt.Parameters, o.ClipGradNorm);
                opt.Step();
                opt.ZeroGrad(); // the gradients' arrays go back to the pool with the scope
                lv = loss.Data.ToArray()[0];
                correct = Metrics.CountTopK(logits.Data.ToArray(), logits.Shape[1], batch.Labels, 1);
            }
            sched.Step();
            meter.Add(lv, correct, batch.Count);
            step++;
            if (progress)
            {
                double rate = meter.Samples / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
                double eta = (steps - step) * (sw.Elapsed.TotalSeconds / step);
                Console.Error.Write($"\repoch {epoch + 1}/{o.Epochs} step {step}/{steps} loss {lv:F4} {rate:F1} clips/s ETA {eta:F0}s   ");
            }
        }
        if (progress) Console.Error.Write("\r" + new string(' ', 79) + "\r");
        return meter;
    }
}
