using System.Text.Json.Serialization;

namespace Sifa.Training;

/// <summary>
/// One line of <c>metrics.jsonl</c>: the results of one epoch (accuracies are fractions in [0, 1]). A value that is not
/// a number (no validation data, a diverged validation loss) is written as the string <c>"NaN"</c> / <c>"Infinity"</c>
/// rather than failing the write and losing the epoch.
/// </summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
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
    /// <summary>Training samples that could not be loaded this epoch (each left out of its batch).</summary>
    [JsonPropertyName("train_bad_samples")] public int TrainBadSamples { get; init; }
    /// <summary>Validation samples that could not be loaded (skipped, not counted in the accuracies).</summary>
    [JsonPropertyName("val_bad_samples")] public int ValBadSamples { get; init; }
    /// <summary>Optimizer steps skipped because the loss or a gradient was not finite (<see cref="NanPolicy.SkipStep"/>).</summary>
    [JsonPropertyName("skipped_steps")] public int SkippedSteps { get; init; }
}

/// <summary>Classification metrics on host score arrays.</summary>
public static class Metrics
{
    /// <summary>
    /// Counts rows whose label is among the top <paramref name="k"/> scores of <paramref name="scores"/> (row-major
    /// (N, <paramref name="classes"/>)); ties rank the lower class index first, so the count is deterministic. A row
    /// holding a NaN is never correct: NaN compares false with everything, so it would otherwise rank first.
    /// </summary>
    public static int CountTopK(float[] scores, int classes, int[] labels, int k)
    {
        int c = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            float t = scores[n * classes + labels[n]];
            int higher = 0;
            bool nan = false;
            for (int j = 0; j < classes; j++)
            {
                float v = scores[n * classes + j];
                nan |= float.IsNaN(v);
                if (v > t || (v == t && j < labels[n])) higher++;
            }
            if (higher < k && !nan) c++;
        }
        return c;
    }
}

/// <summary>Running sample-weighted mean loss and top-1 accuracy over an epoch's batches.</summary>
public sealed class EpochMeter
{
    private double _lossSum;
    private int _correct;

    /// <summary>Samples added so far.</summary>
    public int Samples { get; private set; }

    /// <summary>Mean loss per sample (0 before any batch).</summary>
    public double MeanLoss => _lossSum / Math.Max(1, Samples);

    /// <summary>Fraction of samples counted correct (0 before any batch).</summary>
    public double Top1 => (double)_correct / Math.Max(1, Samples);

    /// <summary>Adds a batch of <paramref name="count"/> samples with mean loss <paramref name="batchLoss"/>.</summary>
    public void Add(float batchLoss, int correct, int count)
    {
        // float × int stays a float product, as the metrics of earlier runs were computed: keeps them reproducible.
        _lossSum += batchLoss * count;
        _correct += correct;
        Samples += count;
    }
}
