using Sifa.Tensors;

namespace Sifa.Data;

/// <summary>
/// A sample could not be loaded because its input is bad: a missing, truncated or corrupt video
/// or frame image. The loader skips such samples by default (and counts them); in strict mode the
/// exception reaches the caller. <see cref="Path"/> names the offending file or folder.
/// </summary>
public sealed class SampleLoadException : SifaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file or frame folder that could not be read.</param>
    /// <param name="reason">What went wrong (without the path).</param>
    /// <param name="inner">The underlying error, if any.</param>
    public SampleLoadException(string path, string reason, Exception? inner = null)
        : base($"{reason}: {path}", inner)
    {
        Path = path;
        Reason = reason;
    }

    /// <summary>The file or frame folder that could not be read.</summary>
    public string Path { get; }

    /// <summary>What went wrong, without the path.</summary>
    public string Reason { get; }

    /// <summary>The dataset index of the sample, when known (-1 otherwise).</summary>
    public int Index { get; internal set; } = -1;
}

/// <summary>
/// The <c>ffmpeg</c> (or <c>ffprobe</c>) executable was not found. Its message says how to install it.
/// This is never treated as a bad sample: it stops loading at once.
/// </summary>
public sealed class FfmpegNotFoundException : SifaException
{
    /// <summary>Creates the exception for a missing tool.</summary>
    /// <param name="tool">The executable name (<c>ffmpeg</c> or <c>ffprobe</c>).</param>
    public FfmpegNotFoundException(string tool)
        : base(
            $"{tool} was not found. Sifa decodes videos and frame images with the ffmpeg command-line tools " +
            $"(ffmpeg and ffprobe). Install them: Debian/Ubuntu `sudo apt-get install ffmpeg`, Fedora `sudo dnf install ffmpeg`, " +
            $"macOS `brew install ffmpeg`, Windows `winget install ffmpeg` or a build from https://ffmpeg.org/download.html; " +
            $"make sure {tool} is on PATH, or set the {FfmpegTools.FfmpegEnvironmentVariable} / {FfmpegTools.FfprobeEnvironmentVariable} " +
            $"environment variables to the executables.")
    {
        Tool = tool;
    }

    /// <summary>The missing executable's name.</summary>
    public string Tool { get; }
}

/// <summary>
/// A data loader failed: a worker hit an unexpected error (not a bad sample), or a bad sample in strict
/// mode. The original exception is <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class DataLoaderException : SifaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The worker's exception.</param>
    public DataLoaderException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A dataset as a whole is unusable: an annotation list that is empty or has a bad line or label, or more samples
/// failing to load than a run allows. The message names the list (and line) or the epoch and the first bad files.
/// </summary>
public sealed class DatasetException : SifaException
{
    /// <summary>Creates the error.</summary>
    public DatasetException(string message, Exception? inner = null) : base(message, inner) { }
}
