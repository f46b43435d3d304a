using Sifa.Data;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Training;

/// <summary>A model loaded from a self-describing checkpoint, with what is needed to feed it.</summary>
/// <param name="Model">The model, weights loaded, in eval mode, on the CPU (move it with <c>To</c>).</param>
/// <param name="Record">What the checkpoint records: model spec, classes, clip geometry, normalisation, metrics.</param>
/// <param name="Source">The checkpoint file.</param>
public sealed record InferenceModel(VideoModel Model, CheckpointRecord Record, string Source)
{
    /// <summary>Class names by label.</summary>
    public IReadOnlyList<string> ClassNames => Record.ClassNames;

    /// <summary>How clips are cut for this model.</summary>
    public ClipGeometry Clip => Record.Clip;

    /// <summary>The test-time pipeline (the recorded views unless given).</summary>
    public ClipPipeline Pipeline(int? clips = null, int? crops = null) => Record.Clip.TestPipeline(Record.Normalization, clips, crops);

    /// <summary>Class probabilities of one video, averaged over its test views, by label.</summary>
    /// <exception cref="SampleLoadException">The video cannot be read.</exception>
    public float[] Predict(string video, int? clips = null, int? crops = null)
    {
        var sample = Pipeline(clips, crops).Run(new VideoFileSource(video), 0, new Random(0));
        var t = Tensor.FromArray(sample.Data, sample.Views, sample.Frames, 3, sample.Height, sample.Width);
        return Evaluator.AveragedProbabilities(Model, t, sample.Views);
    }
}

/// <summary>Reading checkpoints for use (not for resuming: see <see cref="CheckpointStore"/>).</summary>
public static class Checkpoint
{
    /// <summary>
    /// Loads a self-describing checkpoint: builds the model its record names, loads the weights strictly, refuses
    /// non-finite weights, and returns the model in eval mode with its preprocessing and class names.
    /// </summary>
    /// <param name="path">A <c>.safetensors</c> checkpoint written by <c>sifa train</c> (or <see cref="CheckpointStore"/>).</param>
    /// <exception cref="InvalidDataException">The checkpoint records no model (an old checkpoint) or its record is damaged.</exception>
    /// <exception cref="IOException">The file cannot be read or is not a safetensors file.</exception>
    /// <exception cref="NonFiniteException">A weight is NaN or infinite.</exception>
    public static InferenceModel LoadForInference(string path)
    {
        var content = SafeTensors.Read(path);
        var record = CheckpointRecord.FromMetadata(content.Metadata, path)
            ?? throw new InvalidDataException($"{path} records no model (a checkpoint from before self-describing checkpoints): build the model yourself and Load it");
        return new InferenceModel(Build(record, content, path), record, path);
    }

    /// <summary>Reads only a checkpoint's record; null for an old checkpoint.</summary>
    public static CheckpointRecord? ReadRecord(string path) => CheckpointRecord.FromMetadata(SafeTensors.Read(path).Metadata, path);

    /// <summary>Builds the recorded model and loads <paramref name="content"/>'s weights into it (strict, finite).</summary>
    /// <exception cref="InvalidDataException">The record's model cannot be built, or the weights do not fit it.</exception>
    public static VideoModel Build(CheckpointRecord record, SafeTensors.Content content, string path)
    {
        VideoModel model;
        try { model = Presets.Create(record.Model); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: the recorded model cannot be built: {e.Message}", e); }
        try { model.LoadStateDict(content.Tensors, strict: true, source: path); }
        catch (Sifa.Nn.StateDictException e) { throw new InvalidDataException($"{path}: the weights do not fit the recorded model {record.Model.Preset}: {e.Message}", e); }
        Evaluator.EnsureFiniteWeights(model, path);
        model.Eval();
        return model;
    }
}
