using Sifa.Autograd;
using Sifa.Data;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>Results of an evaluation pass.</summary>
/// <param name="Loss">Mean cross-entropy of the (view-averaged) predictions.</param>
/// <param name="Top1">Top-1 accuracy in [0, 1].</param>
/// <param name="Top5">Top-5 accuracy in [0, 1].</param>
/// <param name="Samples">Samples evaluated.</param>
/// <param name="Skipped">Samples that failed to load and were left out (never replaced by another sample).</param>
public sealed record EvalResult(double Loss, double Top1, double Top5, int Samples, int Skipped = 0)
{
    /// <summary>The result of evaluating nothing (no validation data).</summary>
    public static EvalResult None { get; } = new(double.NaN, double.NaN, double.NaN, 0);
}

/// <summary>Multi-view evaluation of a video model on the device its parameters live on.</summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates in eval mode without gradients: softmax of every view, averaged over a sample's views
    /// (clips × crops), then top-1 / top-5 and the mean negative log of the averaged probability of the label. A sample
    /// that fails to load is left out and counted in <see cref="EvalResult.Skipped"/>, never replaced by another.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The data (its pipeline decides the views).</param>
    /// <param name="batchSize">Samples per batch.</param>
    /// <param name="workers">Loader workers.</param>
    /// <param name="seed">Loader seed.</param>
    /// <param name="strict">Throw the <see cref="SampleLoadException"/> of the first sample that fails to load.</param>
    /// <param name="onBadSample">Called (from a loader thread) once for each sample that fails to load.</param>
    /// <param name="onBatch">Called after each batch (on the calling thread).</param>
    public static EvalResult Evaluate(VideoModel model, IVideoDataset data, int batchSize, int workers = 1, int seed = 0,
        bool strict = false, Action<BadSampleInfo>? onBadSample = null, Action<EvalProgress>? onBatch = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int batches = 0, totalBatches = (data.Count + batchSize - 1) / batchSize;
        bool was = model.IsTraining;
        model.Eval();
        var loader = new VideoDataLoader(data, new DataLoaderOptions
        {
            BatchSize = batchSize, Shuffle = false, Seed = seed, Workers = workers,
            Strict = strict, BadSamples = BadSamplePolicy.Drop, OnBadSample = onBadSample,
        });
        double loss = 0; int top1 = 0, top5 = 0, n = 0;
        using (GradMode.NoGrad())
        {
            foreach (var batch in loader.GetEpoch(0))
            {
                float[] probs;
                using (TensorScope.Begin()) probs = AveragedProbabilities(model, batch.Clips, batch.ViewsPerSample);
                int k = probs.Length / batch.Count;
                for (int i = 0; i < batch.Count; i++) loss -= Math.Log(Math.Max(1e-12, probs[i * k + batch.Labels[i]]));
                top1 += Metrics.CountTopK(probs, k, batch.Labels, 1);
                top5 += Metrics.CountTopK(probs, k, batch.Labels, 5);
                n += batch.Count;
                onBatch?.Invoke(new EvalProgress(++batches, totalBatches, n, (double)top1 / n, sw.Elapsed));
            }
        }
        model.Train(was);
        return new EvalResult(loss / Math.Max(1, n), (double)top1 / Math.Max(1, n), (double)top5 / Math.Max(1, n), n, (int)loader.SamplesDropped);
    }

    /// <summary>
    /// Refuses a model whose parameters or buffers hold a NaN or an infinity (a diverged or damaged checkpoint), which
    /// would otherwise evaluate to meaningless scores. Reads every tensor back once.
    /// </summary>
    /// <param name="model">The model, with its weights loaded.</param>
    /// <param name="source">Where the weights came from (named in the message).</param>
    /// <exception cref="NonFiniteException">A tensor is not finite; the message names the source and the key.</exception>
    public static void EnsureFiniteWeights(Module model, string source)
    {
        foreach (var (key, t) in model.StateDict())
        {
            var a = t.Tensor.ToArray();
            int i = Array.FindIndex(a, v => !float.IsFinite(v));
            if (i >= 0)
                throw new NonFiniteException($"{source}: tensor '{key}' holds a non-finite value ({a[i]} at flat index {i}); refusing to evaluate diverged or damaged weights");
        }
    }

    /// <summary>
    /// Class probabilities per sample, read back to the host: softmax of each view's logits averaged over consecutive
    /// groups of <paramref name="views"/> rows. The clips (N * V, T, 3, H, W) move to the model's device first.
    /// </summary>
    /// <returns>Row-major (N, classes) probabilities.</returns>
    public static float[] AveragedProbabilities(VideoModel model, Tensor clips, int views)
    {
        using var _ = GradMode.NoGrad();
        var p = Ops.Softmax(model.Forward(new Variable(clips.ToDevice(model.Device))), -1);
        int rows = p.Shape[0], k = p.Shape[1], n = rows / views;
        var a = p.Data.ToArray();
        var r = new float[n * k];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < k; j++) r[i / views * k + j] += a[i * k + j] / views;
        return r;
    }
}
