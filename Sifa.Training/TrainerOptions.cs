using Sifa.Tensors;

namespace Sifa.Training;

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

    /// <summary>Optimizer: one of <see cref="OptimizerFactory.Names"/> (<c>sgd</c> is Nesterov, momentum <see cref="Momentum"/>).</summary>
    public string Optimizer { get; init; } = "adamw";

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay (normalisation weights, biases and position tables are excluded).</summary>
    public double WeightDecay { get; init; } = 0.05;

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

    /// <summary>Output folder: metrics.jsonl, curves.svg, checkpoint.safetensors, optimizer.safetensors, trainer_state.json.</summary>
    public string OutDir { get; init; } = "runs/sifa-tiny";

    /// <summary>Continue from the checkpoint in <see cref="OutDir"/>.</summary>
    public bool Resume { get; init; }

    /// <summary>Stop after this many epochs in this invocation (0: no limit), as an interruption would; the schedule
    /// still spans <see cref="Epochs"/>, so resuming later reproduces an uninterrupted run.</summary>
    public int StopAfterEpochs { get; init; }

    /// <summary>Validation batch size (0 uses <see cref="BatchSize"/>).</summary>
    public int EvalBatchSize { get; init; }

    /// <summary>Show a per-step progress line on stderr.</summary>
    public bool Progress { get; init; } = true;

    /// <summary>Checks the settings, the device's availability first (before any work).</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    /// <exception cref="NotSupportedException">The device has no backend here (the message says why).</exception>
    public void Validate()
    {
        Backends.For(Device);
        if (Epochs < 1) throw new ArgumentException($"epochs must be ≥ 1, got {Epochs}");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be ≥ 1, got {BatchSize}");
        if (!(Lr > 0)) throw new ArgumentException($"learning rate must be > 0, got {Lr}");
        OptimizerFactory.CheckName(Optimizer);
        if (WarmupSteps < 0) throw new ArgumentException("warm-up steps must be ≥ 0");
        if (LabelSmoothing is < 0 or > 1) throw new ArgumentException("label smoothing must be in [0, 1]");
        if (Workers < 0) throw new ArgumentException("workers must be ≥ 0");
    }
}
