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
/// <see cref="OptimizerFactory"/>, cosine schedule with warm-up (optionally from a start factor, to a floor), gradient
/// accumulation (<see cref="TrainerOptions.Accumulate"/>), label smoothing, global-norm clipping; validates every
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

    /// <summary>
    /// Creates a trainer; checks the settings (an unavailable device fails here, before any work) and that every label
    /// fits the model's classes (a validation label beyond them would otherwise fail only after a full epoch).
    /// </summary>
    /// <param name="model">The model (moved to the device when training starts).</param>
    /// <param name="train">Training data.</param>
    /// <param name="val">Validation data (null skips validation).</param>
    /// <param name="options">Settings.</param>
    /// <param name="log">Where per-epoch summaries go (stdout when null).</param>
    public Trainer(VideoModel model, IVideoDataset train, IVideoDataset? val, TrainerOptions options, TextWriter? log = null)
    {
        options.Validate();
        CheckLabels(train, "training", model.NumClasses);
        if (val != null) CheckLabels(val, "validation", model.NumClasses);
        _model = model;
        _train = train; _val = val; Options = options;
        _log = log ?? Console.Out;
    }

    /// <summary>The settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Data-parallel training over several processes (null: this process alone; see <see cref="DataParallel"/>).</summary>
    public DataParallel? Parallel { get; init; }

    private static void CheckLabels(IVideoDataset data, string split, int classes)
    {
        if (data.Count == 0) throw new DatasetException($"the {split} data has no samples");
        for (int i = 0; i < data.Count; i++)
        {
            int l = data.GetLabel(i);
            if ((uint)l >= (uint)classes)
                throw new DatasetException($"{split} sample {i} ({data.GetSource(i)}): label {l} is outside the model's {classes} classes (0..{classes - 1})");
        }
    }

    /// <summary>Metrics of every finished epoch (including those before a resume).</summary>
    public List<EpochMetrics> History { get; } = new();

    /// <summary>Runs training up to <see cref="TrainerOptions.Epochs"/> epochs (resuming when asked).</summary>
    /// <param name="cancellationToken">Stops between steps.</param>
    /// <returns>The metrics of all epochs.</returns>
    /// <exception cref="NonFiniteException">A step's loss or gradient was not finite (policy <see cref="NanPolicy.Stop"/>),
    /// or every step of an epoch was.</exception>
    /// <exception cref="DatasetException">More samples failed to load than allowed, or an epoch ran no step.</exception>
    /// <exception cref="SampleLoadException">A sample failed to load in <see cref="TrainerOptions.StrictData"/> mode.</exception>
    public IReadOnlyList<EpochMetrics> Run(CancellationToken cancellationToken = default)
    {
        var o = Options;
        var dp = Parallel;
        bool root = dp?.IsRoot ?? true;
        var store = root ? new CheckpointStore(o.OutDir, _log) : null; // only rank 0 reads and writes the run folder
        _model.To(o.Device);
        var opt = OptimizerFactory.Create(_model, o);
        var lo = new DataLoaderOptions
        {
            BatchSize = o.BatchSize, Shuffle = true, Seed = o.Seed, Workers = o.Workers, DropLast = _train.Count >= 2 * o.BatchSize,
            Strict = o.StrictData, BadSamples = BadSamplePolicy.Drop, OnBadSample = b => ReportBadSample("training", b),
        };
        dp?.Attach(_model, opt, o.BatchSize);
        var loader = new VideoDataLoader(_train, dp?.Shard(lo) ?? lo);
        long stepsPerEpoch = OptimizerStepsPerEpoch(loader.BatchesPerEpoch, o.Accumulate), total = stepsPerEpoch * o.Epochs;
        long warmup = o.WarmupEpochs > 0 ? (long)Math.Round(o.WarmupEpochs * stepsPerEpoch) : o.WarmupSteps;
        var sched = new CosineSchedule(opt, Math.Min(warmup, Math.Max(0, total - 1)), total, o.WarmupStartFactor, o.MinLr);
        int startEpoch = 0;
        var at = store?.Begin(o.Resume, o.Overwrite, _model, opt); // loads into the device tensors
        if (dp != null) at = dp.Start(at, _model, opt); // every rank starts from rank 0's state
        if (at != null)
        {
            sched.StepCount = at.ScheduleStep;
            startEpoch = at.Epoch;
            History.AddRange(at.History);
            _log.WriteLine($"resumed from {at.Source} after epoch {startEpoch} (step {at.ScheduleStep})");
        }
        else sched.StepCount = 0;
        store?.WriteMetrics(History);

        int endEpoch = o.StopAfterEpochs > 0 ? Math.Min(o.Epochs, startEpoch + o.StopAfterEpochs) : o.Epochs;
        for (int epoch = startEpoch; epoch < endEpoch; epoch++)
        {
            var sw = Stopwatch.StartNew();
            var tr = TrainEpoch(opt, sched, loader, epoch, sw, cancellationToken);
            dp?.AverageBuffers(_model);
            var ev = Validate(epoch);
            var m = new EpochMetrics
            {
                Epoch = epoch + 1, TrainLoss = tr.Meter.MeanLoss, TrainTop1 = tr.Meter.Top1,
                ValLoss = ev.Loss, ValTop1 = ev.Top1, ValTop5 = ev.Top5, Lr = opt.Groups[0].Lr, Step = sched.StepCount,
                Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3),
                TrainBadSamples = tr.BadSamples, ValBadSamples = ev.Skipped, SkippedSteps = tr.SkippedSteps,
            };
            History.Add(m);
            store?.Save(_model, opt, epoch + 1, sched.StepCount, o.Seed, History); // metrics follow the commit, never run ahead of it
            store?.AppendMetrics(m);
            store?.WriteCurves(History);
            dp?.Barrier($"checkpoint of epoch {epoch + 1}"); // nobody runs ahead of a checkpoint that is not complete
            var notes = new List<string>();
            if (m.TrainBadSamples > 0) notes.Add($"{m.TrainBadSamples} bad training samples");
            if (m.ValBadSamples > 0) notes.Add($"{m.ValBadSamples} bad validation samples");
            if (m.SkippedSteps > 0) notes.Add($"{m.SkippedSteps} non-finite steps skipped");
            _log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {m.Epoch}/{o.Epochs}: train loss {m.TrainLoss:F4} top1 {m.TrainTop1:F3} | val loss {m.ValLoss:F4} top1 {m.ValTop1:F3} top5 {m.ValTop5:F3} | lr {m.Lr:G3} | {m.Seconds:F1}s")
                + (notes.Count > 0 ? " | " + string.Join(", ", notes) : ""));
        }
        return History;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), BadSampleInfo> _reported = new();

    // Called from loader threads: each bad file is reported once per run and split, with its reason.
    private void ReportBadSample(string split, BadSampleInfo b)
    {
        if (!_reported.TryAdd((split, b.Path), b)) return;
        lock (_log) _log.WriteLine($"bad {split} sample {b.Index} (epoch {b.Epoch + 1}, left out): {b.Reason}: {b.Path}");
    }

    private string FirstBad(string split) =>
        _reported.Where(kv => kv.Key.Item1 == split).Select(kv => kv.Value).OrderBy(b => b.Epoch).ThenBy(b => b.Index)
            .Select(b => $"; first: {b.Reason}: {b.Path}").FirstOrDefault() ?? "";

    private DatasetException TooManyBad(string split, int epoch, int bad, int samples) => new(
        $"epoch {epoch + 1}: {bad} of {samples} {split} samples failed to load, more than the {Options.BadSampleLimit(samples)} allowed " +
        $"(--max-bad-samples; default 1% of the epoch){FirstBad(split)}");

    private EvalResult Validate(int epoch)
    {
        if (_val == null) return EvalResult.None;
        var o = Options;
        var ev = Evaluator.Evaluate(_model, Parallel?.ShardOf(_val) ?? _val, o.EvalBatchSize > 0 ? o.EvalBatchSize : o.BatchSize, o.Workers, o.Seed,
            o.StrictData, b => ReportBadSample("validation", b with { Epoch = epoch }));
        if (Parallel != null) ev = Parallel.Reduce(ev);
        if (ev.Skipped > o.BadSampleLimit(_val.Count)) throw TooManyBad("validation", epoch, ev.Skipped, _val.Count);
        if (ev.Samples == 0 && _val.Count > 0) throw new DatasetException($"epoch {epoch + 1}: no validation sample could be loaded{FirstBad("validation")}");
        return ev;
    }

    private sealed record EpochOutcome(EpochMeter Meter, int BadSamples, int SkippedSteps);

    /// <summary>Optimizer steps in an epoch of <paramref name="batches"/> batches accumulated <paramref name="accumulate"/>
    /// at a time (an epoch's last group may be shorter: epochs never share a step, so resuming stays exact).</summary>
    internal static long OptimizerStepsPerEpoch(int batches, int accumulate) => (batches + accumulate - 1) / accumulate;

    private EpochOutcome TrainEpoch(Optimizer opt, CosineSchedule sched, VideoDataLoader loader, int epoch, Stopwatch sw, CancellationToken cancellationToken)
    {
        var o = Options;
        var dp = Parallel;
        StochasticSeeds.Reseed(_model, dp?.DropoutSeed(o.Seed) ?? o.Seed, epoch);
        _model.Train();
        var meter = new EpochMeter();
        int step = 0, steps = loader.BatchesPerEpoch, skipped = 0, samples = Math.Min(_train.Count, steps * o.BatchSize);
        long dropped0 = loader.SamplesDropped;
        int globalBad = 0; // data-parallel: the bad samples of all ranks, summed at each step
        int Bad() => dp != null ? globalBad : (int)(loader.SamplesDropped - dropped0);
        bool progress = o.Progress && !Console.IsErrorRedirected && (dp?.IsRoot ?? true);
        var accum = o.Accumulate > 1 ? new GradAccumulator(opt.Parameters) : null;
        try
        {
            foreach (var batch in loader.GetEpochBatches(epoch, cancellationToken))
            {
                if (batch == null && dp == null) continue; // ranks stay in step over a shard with no sample
                step++;
                if (Bad() > o.BadSampleLimit(samples)) throw TooManyBad("training", epoch, Bad(), samples);
                float lv; int correct, count = batch?.Count ?? 0;
                bool stepTaken = true;
                dp?.BeginStep(epoch, step);
                // One step's activations and gradients live in a scope: their arrays are reused by the next step.
                using (TensorScope.Begin())
                {
                    // A model with its own training loss (the official SIFA-Net's two heads) computes loss and scores.
                    // With data parallelism a rank may hold no sample of this batch (batch null): it still joins the all-reduce.
                    Variable? loss = null, logits = null;
                    if (batch != null)
                    {
                        var clips = new Variable(batch.Clips.ToDevice(o.Device));
                        (loss, logits) = _model is ITrainingLoss own
                            ? own.TrainingLoss(clips, batch.Labels, o.LabelSmoothing)
                            : TrainingOutputOf(_model.Forward(clips), batch.Labels, o.LabelSmoothing);
                    }
                    opt.ZeroGrad();
                    if (dp == null)
                    {
                        loss!.Backward();
                        lv = loss.Data.ToArray()[0];
                        correct = -1;
                    }
                    else
                    {
                        // Every rank ends with the gradients averaged over all and the totals of the global batch
                        // (with accumulation: of each batch of the group, which the accumulator then sums as alone).
                        float local = loss?.Data.ToArray()[0] ?? 0f;
                        int ok = logits != null ? Metrics.CountTopK(logits.Data.ToArray(), logits.Shape[1], batch!.Labels, 1) : 0;
                        var t = dp.Backward(loss, local, count, ok, (int)(loader.SamplesDropped - dropped0));
                        (lv, correct, count, globalBad) = (t.MeanLoss, t.Correct, t.Samples, t.BadSamples);
                        if (count == 0) continue; // no rank had a sample of this batch
                    }
                    float stepLoss = lv;
                    if (accum != null)
                    {
                        // The group's gradients are held until its last batch (or the epoch's), then stepped as one.
                        accum.Add(count, lv);
                        stepTaken = accum.Batches == o.Accumulate || step == steps;
                        if (stepTaken)
                        {
                            if (accum.SawNonFiniteLoss) stepLoss = accum.NonFiniteLoss;
                            accum.Finish();
                        }
                    }
                    // The global gradient norm, one reduction and one number read back per step: clipping computes it
                    // anyway; without clipping an infinite bound computes it and scales nothing.
                    double norm = stepTaken ? GradClip.ClipGradNorm(opt.Parameters, o.ClipGradNorm > 0 ? o.ClipGradNorm : double.PositiveInfinity) : 0;
                    if (stepTaken && (!float.IsFinite(stepLoss) || !double.IsFinite(norm)))
                    {
                        var what = DescribeNonFinite(opt, epoch, step, stepLoss, norm);
                        if (o.OnNan == NanPolicy.Stop) throw new NonFiniteException(what + " (--on-nan skip-step skips such steps)");
                        opt.ZeroGrad();
                        skipped++;
                        ClearProgress(progress);
                        _log.WriteLine(what + "; step skipped");
                        continue;
                    }
                    if (stepTaken) opt.Step();
                    opt.ZeroGrad(); // the gradients' arrays go back to the pool with the scope
                    if (dp == null) correct = Metrics.CountTopK(logits!.Data.ToArray(), logits.Shape[1], batch!.Labels, 1);
                }
                if (stepTaken) sched.Step();
                if (stepTaken || float.IsFinite(lv)) meter.Add(lv, correct, count); // a held batch's NaN is reported when its group steps
                if (progress)
                {
                    double rate = meter.Samples / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
                    double eta = (steps - step) * (sw.Elapsed.TotalSeconds / step);
                    Console.Error.Write($"\repoch {epoch + 1}/{o.Epochs} step {step}/{steps} loss {lv:F4} {rate:F1} clips/s ETA {eta:F0}s   ");
                }
            }
            if (accum is { Batches: > 0 } && FlushAccumulated(opt, accum, o.ClipGradNorm)) sched.Step(); // the epoch's last batches failed to load
        }
        finally { ClearProgress(progress); }
        if (Bad() > o.BadSampleLimit(samples)) throw TooManyBad("training", epoch, Bad(), samples);
        if (meter.Samples == 0)
        {
            if (skipped > 0) throw new NonFiniteException($"epoch {epoch + 1}: all {skipped} steps had a non-finite loss or gradient and were skipped");
            throw new DatasetException($"epoch {epoch + 1}: no training step ran: {Bad()} of {samples} samples failed to load{FirstBad("training")}");
        }
        return new EpochOutcome(meter, Bad(), skipped);
    }

    // An accumulated group whose closing batch never came: stepped when finite, else dropped like a skipped step.
    private static bool FlushAccumulated(Optimizer opt, GradAccumulator accum, double clip)
    {
        using (TensorScope.Begin())
        {
            bool finiteLoss = !accum.SawNonFiniteLoss;
            accum.Finish();
            double norm = GradClip.ClipGradNorm(opt.Parameters, clip > 0 ? clip : double.PositiveInfinity);
            bool ok = finiteLoss && double.IsFinite(norm);
            if (ok) opt.Step();
            opt.ZeroGrad();
            return ok;
        }
    }

    private static void ClearProgress(bool progress)
    {
        if (progress) Console.Error.Write("\r" + new string(' ', 79) + "\r");
    }

    private static TrainingOutput TrainingOutputOf(Variable logits, int[] labels, float smoothing) =>
        new(Ops.CrossEntropy(logits, labels, smoothing), logits);

    // Only after a step went non-finite: reads the gradients (and weights) back to name the first bad one.

    private string DescribeNonFinite(Optimizer opt, int epoch, int step, float loss, double norm)
    {
        var names = new Dictionary<Sifa.Autograd.Variable, string>(ReferenceEqualityComparer.Instance);
        foreach (var (n, p) in _model.NamedParameters()) names.TryAdd(p, n);
        string Name(Sifa.Autograd.Variable v) => names.TryGetValue(v, out var n) ? n : "(unnamed parameter)";
        static bool Finite(Tensor t) => t.ToArray().All(float.IsFinite);
        var grad = opt.Parameters.FirstOrDefault(p => p.Grad != null && !Finite(p.Grad));
        var weight = opt.Parameters.FirstOrDefault(p => !Finite(p.Data));
        var s = string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1} step {step}: non-finite loss or gradient (loss {loss}, gradient norm {norm})");
        s += grad != null ? $"; first parameter whose gradient is not finite: {Name(grad)}" : "; every gradient is finite but their squared norm overflowed";
        if (weight != null) s += $"; first non-finite weight: {Name(weight)}";
        return s;
    }
}
