using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>What training does at a step whose loss or gradients are not finite (NaN or infinite).</summary>
public enum NanPolicy
{
    /// <summary>Stop the run with a <see cref="NonFiniteException"/> naming the epoch, step and first bad parameter;
    /// the last checkpoint and the metrics written so far stay as they were.</summary>
    Stop,

    /// <summary>Skip the optimizer step (the weights stay as they were), log it and go on; an epoch in which every
    /// step is skipped still stops the run.</summary>
    SkipStep,
}

/// <summary>
/// Settings of a training run (see <see cref="Trainer"/>). The defaults are those of <c>sifa train</c> (the CLI reads
/// them from <see cref="Defaults"/>), measured on synthetic-motion at 32² frames.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>The default settings.</summary>
    public static TrainerOptions Defaults { get; } = new();

    /// <summary>Total epochs (a resumed run continues up to this many).</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Clips per optimizer step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Base learning rate (peak after warm-up).</summary>
    public double Lr { get; init; } = 1e-3;

    /// <summary>Optimizer: one of <see cref="OptimizerFactory.Names"/> (<c>sgd</c>: momentum <see cref="Momentum"/>, Nesterov when <see cref="Nesterov"/>).</summary>
    public string Optimizer { get; init; } = "adamw";

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD with Nesterov momentum (the default, as before); false gives plain momentum, the official recipe's.</summary>
    public bool Nesterov { get; init; } = true;

    /// <summary>Weight decay (normalisation weights, biases and position tables are excluded unless
    /// <see cref="WeightDecayExcludeNormBias"/> is false).</summary>
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Keep normalisation weights, biases and position tables out of weight decay (default); false decays every
    /// trainable parameter, as the official recipe does.</summary>
    public bool WeightDecayExcludeNormBias { get; init; } = true;

    /// <summary>Warm-up length in epochs (0: use <see cref="WarmupSteps"/>); fractional values allowed, rounded to optimizer steps.</summary>
    public double WarmupEpochs { get; init; }

    /// <summary>The warm-up starts at <c>Lr·WarmupStartFactor</c> (0: from zero; the official recipe: 0.01).</summary>
    public double WarmupStartFactor { get; init; }

    /// <summary>The learning rate the cosine decays to (0 by default; the official recipe: 1e-6).</summary>
    public double MinLr { get; init; }

    /// <summary>Gradient accumulation: batches whose gradients are summed (weighted by their size) into one optimizer step
    /// (the official <c>iter_size</c>); the schedule counts optimizer steps.</summary>
    public int Accumulate { get; init; } = 1;

    /// <summary>Linear warm-up length in optimizer steps.</summary>
    public int WarmupSteps { get; init; } = 20;

    /// <summary>Label smoothing ε.</summary>
    public float LabelSmoothing { get; init; } = 0.1f;

    /// <summary>Clip gradients to this global L2 norm (0 turns clipping off).</summary>
    public double ClipGradNorm { get; init; } = 5.0;

    /// <summary>Seed of everything random (data order, augmentation, dropout).</summary>
    public int Seed { get; init; }

    /// <summary>Background data-loading workers (0 loads on the training thread).</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Compute device: the model and every batch move there; only losses and metrics are read back.</summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>Output folder: metrics.jsonl, curves.svg, checkpoint.safetensors (the latest model) and the latest
    /// checkpoint ckpt-epoch-NNNN/ named by the file <c>latest</c> (see <see cref="CheckpointStore"/>).</summary>
    public string OutDir { get; init; } = "runs/sifa-tiny";

    /// <summary>Whether to continue from the checkpoint in <see cref="OutDir"/>.</summary>
    public ResumeMode Resume { get; init; }

    /// <summary>With <see cref="ResumeMode.Never"/>: replace a run already in <see cref="OutDir"/> (else that is an error).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Stop after this many epochs in this invocation (0: no limit), as an interruption would; the schedule
    /// still spans <see cref="Epochs"/>, so resuming later reproduces an uninterrupted run.</summary>
    public int StopAfterEpochs { get; init; }

    /// <summary>Validation batch size (0 uses <see cref="BatchSize"/>).</summary>
    public int EvalBatchSize { get; init; }

    /// <summary>Show a per-step progress line on stderr.</summary>
    public bool Progress { get; init; } = true;

    /// <summary>What to do at a step whose loss or gradients are not finite.</summary>
    public NanPolicy OnNan { get; init; } = NanPolicy.Stop;

    /// <summary>Samples per epoch (training, or one validation pass) that may fail to load before the run stops;
    /// null allows 1% of the epoch's samples (rounded down, so a small dataset allows none).</summary>
    public int? MaxBadSamples { get; init; }

    /// <summary>Stop at the first sample that fails to load.</summary>
    public bool StrictData { get; init; }

    /// <summary>The number of failed samples allowed in an epoch of <paramref name="samples"/> samples.</summary>
    public int BadSampleLimit(int samples) => MaxBadSamples ?? samples / 100;

    /// <summary>Checks the settings, the device's availability first (before any work).</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    /// <exception cref="NotSupportedException">The device has no backend here (the message says why).</exception>
    public void Validate()
    {
        Backends.For(Device);
        if (Epochs < 1) throw new ArgumentException($"epochs (--epochs) must be ≥ 1, got {Epochs}");
        if (BatchSize < 1) throw new ArgumentException($"batch size (--batch) must be ≥ 1, got {BatchSize}");
        if (EvalBatchSize < 0) throw new ArgumentException($"validation batch size must be ≥ 0, got {EvalBatchSize}");
        if (!(Lr > 0) || !double.IsFinite(Lr)) throw new ArgumentException($"learning rate (--lr) must be a finite number > 0, got {Num(Lr)}");
        OptimizerFactory.CheckName(Optimizer);
        if (!(Momentum >= 0) || !double.IsFinite(Momentum)) throw new ArgumentException($"momentum must be a finite number ≥ 0, got {Num(Momentum)}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new ArgumentException($"weight decay (--weight-decay) must be a finite number ≥ 0, got {Num(WeightDecay)}");
        if (!(WarmupEpochs >= 0) || !double.IsFinite(WarmupEpochs)) throw new ArgumentException($"warm-up epochs (--warmup-epochs) must be a finite number ≥ 0, got {Num(WarmupEpochs)}");
        if (!(WarmupStartFactor is >= 0 and < 1)) throw new ArgumentException($"warm-up start factor (--warmup-factor) must be in [0, 1), got {Num(WarmupStartFactor)}");
        if (!(MinLr >= 0) || !double.IsFinite(MinLr) || MinLr > Lr) throw new ArgumentException($"minimum lr (--min-lr) must be a finite number in [0, --lr], got {Num(MinLr)}");
        if (Accumulate is < 1 or > 4096) throw new ArgumentException($"gradient accumulation (--accumulate) must be in 1..4096, got {Accumulate}");
        if (WarmupSteps < 0) throw new ArgumentException($"warm-up steps (--warmup-steps) must be ≥ 0, got {WarmupSteps}");
        if (!(LabelSmoothing is >= 0 and <= 1)) throw new ArgumentException($"label smoothing (--label-smoothing) must be in [0, 1], got {Num(LabelSmoothing)}");
        if (!(ClipGradNorm >= 0) || !double.IsFinite(ClipGradNorm)) throw new ArgumentException($"gradient clip (--clip-grad) must be a finite number ≥ 0 (0: off), got {Num(ClipGradNorm)}");
        if (Workers < 0) throw new ArgumentException($"workers (--workers) must be ≥ 0, got {Workers}");
        if (StopAfterEpochs < 0) throw new ArgumentException($"stop-after epochs must be ≥ 0, got {StopAfterEpochs}");
        if (MaxBadSamples < 0) throw new ArgumentException($"bad-sample limit (--max-bad-samples) must be ≥ 0, got {MaxBadSamples}");
        if (!Enum.IsDefined(OnNan)) throw new ArgumentException($"unknown NaN policy {OnNan}");
        if (Overwrite && Resume != ResumeMode.Never) throw new ArgumentException("--overwrite and --resume exclude each other");
    }

    private static string Num(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
