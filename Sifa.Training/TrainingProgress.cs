namespace Sifa.Training;

/// <summary>Where a training step stands within its epoch, with the epoch's running figures.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Total epochs of the run.</param>
/// <param name="Step">Steps (batches) done this epoch, 1-based.</param>
/// <param name="Steps">Steps in the epoch.</param>
/// <param name="RunningLoss">Mean training loss over the epoch's steps so far.</param>
/// <param name="RunningTop1">Training top-1 over the epoch's steps so far.</param>
/// <param name="Samples">Clips trained on this epoch so far.</param>
/// <param name="Elapsed">Wall time since the epoch started.</param>
/// <param name="DataWait">Part of <paramref name="Elapsed"/> spent waiting for the data loader.</param>
public sealed record StepProgress(int Epoch, int Epochs, int Step, int Steps, double RunningLoss, double RunningTop1,
    int Samples, TimeSpan Elapsed, TimeSpan DataWait)
{
    /// <summary>Clips per second this epoch.</summary>
    public double ClipsPerSecond => Samples / Math.Max(1e-9, Elapsed.TotalSeconds);

    /// <summary>Fraction of the epoch's wall time spent waiting for data, in [0, 1].</summary>
    public double DataWaitShare => Elapsed > TimeSpan.Zero ? Math.Clamp(DataWait / Elapsed, 0, 1) : 0;

    /// <summary>Estimated time to the end of the epoch's training steps, at the pace so far.</summary>
    public TimeSpan Eta => Step > 0 ? Elapsed / Step * (Steps - Step) : TimeSpan.Zero;
}

/// <summary>Where an evaluation pass stands.</summary>
/// <param name="Batches">Batches done.</param>
/// <param name="TotalBatches">Batches in the pass.</param>
/// <param name="Samples">Samples evaluated so far.</param>
/// <param name="Top1">Running top-1 of the samples so far.</param>
/// <param name="Elapsed">Wall time since the pass started.</param>
public sealed record EvalProgress(int Batches, int TotalBatches, int Samples, double Top1, TimeSpan Elapsed)
{
    /// <summary>Samples per second.</summary>
    public double SamplesPerSecond => Samples / Math.Max(1e-9, Elapsed.TotalSeconds);
}

/// <summary>
/// Receives a training run's progress as it happens (the <see cref="Trainer"/> calls it from its own thread, in
/// order); the CLI renders it as a live bar or as plain lines. The trainer itself prints nothing but notices to its log.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>An epoch's training steps begin.</summary>
    /// <param name="epoch">1-based epoch.</param>
    /// <param name="epochs">Total epochs.</param>
    /// <param name="steps">Steps in the epoch.</param>
    void EpochStarted(int epoch, int epochs, int steps);

    /// <summary>A training step finished.</summary>
    void StepDone(StepProgress progress);

    /// <summary>The epoch's validation begins.</summary>
    /// <param name="epoch">1-based epoch.</param>
    /// <param name="batches">Batches in the pass.</param>
    void EvaluationStarted(int epoch, int batches);

    /// <summary>A validation batch finished.</summary>
    void EvaluationProgress(EvalProgress progress);

    /// <summary>The epoch is done and its checkpoint committed.</summary>
    /// <param name="metrics">The epoch's metrics.</param>
    /// <param name="epochs">Total epochs.</param>
    /// <param name="summary">The one-line summary the trainer would log without an observer.</param>
    void EpochDone(EpochMetrics metrics, int epochs, string summary);
}
