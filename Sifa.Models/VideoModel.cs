using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>The settings every video model's configuration has.</summary>
public interface IVideoModelConfig
{
    /// <summary>Classifier outputs.</summary>
    int NumClasses { get; }

    /// <summary>Temporal stride s of the stem: frames per group of the first conv.</summary>
    int StemStride { get; }

    /// <summary>Stages (1-based) that get SIFA.</summary>
    int[] Stages { get; }

    /// <summary>SIFA options (null: the paper's defaults).</summary>
    SifaOptions? Sifa { get; }
}

/// <summary>
/// Base of the video models: a module that maps clips (N, T, 3, H, W) to logits (N, classes) by grouping the frames
/// for the stem (<see cref="StemConv.GroupFrames"/>) and running a per-frame 2D network on them.
/// </summary>
public abstract class VideoModel : Module, IVideoModel
{
    /// <inheritdoc/>
    public abstract int TemporalStride { get; }

    /// <summary>Classifier outputs: labels must lie in [0, NumClasses).</summary>
    public abstract int NumClasses { get; }

    /// <summary>The device of the model's parameters (it computes there; inputs move there).</summary>
    public Device Device => Parameters().FirstOrDefault()?.Data.Device ?? Device.Cpu;

    /// <summary>Logits (N, classes) for clips (N, T, 3, H, W).</summary>
    /// <exception cref="ArgumentException">The clips have the wrong shape.</exception>
    public Variable Forward(Variable clip)
    {
        if (clip.Rank != 5 || clip.Shape[2] != 3 || !AcceptsFrames(clip.Shape[3], clip.Shape[4]))
            throw new ArgumentException($"{GetType().Name} expects clips (N, T, 3, {FrameShape}), got {Tensor.Fmt(clip.Shape)}");
        return Logits(StemConv.GroupFrames(clip, TemporalStride), clip.Shape[0], clip.Shape[1] / TemporalStride);
    }

    /// <summary>Whether frames of <paramref name="height"/> × <paramref name="width"/> fit the network (any, by default).</summary>
    protected virtual bool AcceptsFrames(int height, int width) => true;

    /// <summary>The frame shape for error messages (<c>H, W</c> when any fits).</summary>
    protected virtual string FrameShape => "H, W";

    /// <summary>Logits (N, classes) of frame groups (N · frames, 3s, H, W).</summary>
    /// <param name="groups">The frame groups, clip-major.</param>
    /// <param name="clips">Clips N.</param>
    /// <param name="frames">Frame groups per clip (T / s).</param>
    protected abstract Variable Logits(Variable groups, int clips, int frames);
}

/// <summary>A <see cref="VideoModel"/> built from a configuration record.</summary>
public abstract class VideoModel<TConfig> : VideoModel where TConfig : IVideoModelConfig
{
    /// <summary>Keeps the configuration.</summary>
    protected VideoModel(TConfig config) => Config = config;

    /// <summary>The configuration.</summary>
    public TConfig Config { get; }

    /// <inheritdoc/>
    public override int TemporalStride => Config.StemStride;

    /// <inheritdoc/>
    public override int NumClasses => Config.NumClasses;

    /// <summary>The SIFA options of 1-based <paramref name="stage"/>, or null when the stage has no SIFA.</summary>
    protected SifaOptions? SifaOf(int stage) => Config.Stages.Contains(stage) ? Config.Sifa ?? new SifaOptions() : null;
}
