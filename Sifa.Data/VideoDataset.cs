namespace Sifa.Data;

/// <summary>
/// One loaded sample: <see cref="Views"/> clips of <see cref="Frames"/> RGB frames of
/// <see cref="Height"/> x <see cref="Width"/>, laid out (Views, T, 3, H, W) as float32, and its label.
/// Training samples have one view; multi-clip / three-crop testing gives several (view = clip * crops + crop).
/// </summary>
public sealed class VideoSample
{
    /// <summary>Wraps clip data.</summary>
    /// <param name="data">The values, (views, frames, 3, height, width) row-major.</param>
    /// <param name="label">The class label.</param>
    /// <param name="views">Clips (views) in the sample.</param>
    /// <param name="frames">Frames per clip (T).</param>
    /// <param name="height">Frame height.</param>
    /// <param name="width">Frame width.</param>
    public VideoSample(float[] data, int label, int views, int frames, int height, int width)
    {
        if (views <= 0 || frames <= 0 || height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(views), "sizes must be positive");
        if ((long)views * frames * 3 * height * width != data.Length)
            throw new ArgumentException($"{data.Length} values do not match ({views}, {frames}, 3, {height}, {width})");
        Data = data;
        Label = label;
        Views = views;
        Frames = frames;
        Height = height;
        Width = width;
    }

    /// <summary>The values, (Views, Frames, 3, Height, Width) row-major.</summary>
    public float[] Data { get; }

    /// <summary>The class label.</summary>
    public int Label { get; }

    /// <summary>Clips (views) in this sample.</summary>
    public int Views { get; }

    /// <summary>Frames per clip (T).</summary>
    public int Frames { get; }

    /// <summary>Frame height.</summary>
    public int Height { get; }

    /// <summary>Frame width.</summary>
    public int Width { get; }

    /// <summary>The shape of one view: (T, 3, H, W).</summary>
    public int[] ClipShape => new[] { Frames, 3, Height, Width };

    /// <summary>Values per view (T * 3 * H * W).</summary>
    public int ClipLength => Frames * 3 * Height * Width;
}

/// <summary>
/// A source of labelled video clips (video lists, frame folders, class folders, synthetic-motion).
/// <see cref="Load"/> must be safe to call from several threads at once, and deterministic for a given
/// index and random state.
/// </summary>
public interface IVideoDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Class names, indexed by label.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label of a sample, without loading it.</summary>
    /// <param name="index">The sample index.</param>
    /// <returns>The label.</returns>
    int GetLabel(int index);

    /// <summary>A description of where a sample comes from (its file or folder path), for error messages.</summary>
    /// <param name="index">The sample index.</param>
    /// <returns>The path or a name.</returns>
    string GetSource(int index);

    /// <summary>Loads (decodes, samples, augments) one sample.</summary>
    /// <param name="index">The sample index.</param>
    /// <param name="rng">The random source for sampling and augmentation.</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>The clip(s) and the label.</returns>
    /// <exception cref="SampleLoadException">The sample's input is missing or corrupt.</exception>
    VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default);
}

/// <summary>
/// Something that gives frames of one video: a video file, or a folder of frame images.
/// </summary>
public interface IFrameSource
{
    /// <summary>The file or folder (for messages).</summary>
    string Path { get; }

    /// <summary>Frame count and native frame size.</summary>
    /// <param name="cancellationToken">Cancels probing.</param>
    /// <returns>The description.</returns>
    VideoInfo Probe(CancellationToken cancellationToken);

    /// <summary>Decodes frames scaled to <paramref name="width"/> x <paramref name="height"/>.</summary>
    /// <param name="frameIndices">0-based frame indices, strictly increasing.</param>
    /// <param name="width">Output width.</param>
    /// <param name="height">Output height.</param>
    /// <param name="cancellationToken">Cancels decoding.</param>
    /// <returns>One frame per index.</returns>
    RgbFrames Decode(IReadOnlyList<int> frameIndices, int width, int height, CancellationToken cancellationToken);
}

/// <summary>A video file decoded with ffmpeg.</summary>
public sealed class VideoFileSource : IFrameSource
{
    private readonly DecodeOptions _options;
    private readonly Func<string, VideoInfo>? _probeCache;
    private VideoInfo? _info;

    /// <summary>Creates the source.</summary>
    /// <param name="path">The video file.</param>
    /// <param name="options">Decoder options (defaults when null).</param>
    /// <param name="info">A known probe result, to skip probing.</param>
    public VideoFileSource(string path, DecodeOptions? options = null, VideoInfo? info = null)
    {
        Path = path;
        _options = options ?? DecodeOptions.Default;
        _info = info;
    }

    internal VideoFileSource(string path, DecodeOptions options, Func<string, VideoInfo> probeCache) : this(path, options)
    {
        _probeCache = probeCache;
    }

    /// <inheritdoc />
    public string Path { get; }

    /// <inheritdoc />
    public VideoInfo Probe(CancellationToken cancellationToken) =>
        _info ??= _probeCache != null ? _probeCache(Path) : FfmpegTools.Probe(Path, _options, cancellationToken);

    /// <inheritdoc />
    public RgbFrames Decode(IReadOnlyList<int> frameIndices, int width, int height, CancellationToken cancellationToken) =>
        FfmpegTools.DecodeVideo(Path, Probe(cancellationToken), frameIndices, width, height, _options, cancellationToken);
}

/// <summary>
/// A folder of frame images named by a template (mmaction2's <c>img_{:05}.jpg</c>, numbered from
/// <see cref="StartIndex"/>), decoded with ffmpeg in one call per clip.
/// </summary>
public sealed class FrameFolderSource : IFrameSource
{
    private readonly DecodeOptions _options;
    private readonly Func<string, VideoInfo>? _sizeCache;
    private VideoInfo? _info;

    /// <summary>Creates the source.</summary>
    /// <param name="directory">The frame folder.</param>
    /// <param name="frameCount">Number of frames in the folder.</param>
    /// <param name="filenameTemplate">File name template: .NET (<c>img_{0:D5}.jpg</c>) or Python (<c>img_{:05}.jpg</c>) style.</param>
    /// <param name="startIndex">The number of the first frame file.</param>
    /// <param name="options">Decoder options (defaults when null).</param>
    public FrameFolderSource(string directory, int frameCount, string filenameTemplate = "img_{0:D5}.jpg", int startIndex = 1, DecodeOptions? options = null)
    {
        Path = directory;
        FrameCount = frameCount;
        FilenameTemplate = NormalizeTemplate(filenameTemplate);
        StartIndex = startIndex;
        _options = options ?? DecodeOptions.Default;
    }

    internal FrameFolderSource(string directory, int frameCount, string template, int startIndex, DecodeOptions options, Func<string, VideoInfo> sizeCache)
        : this(directory, frameCount, template, startIndex, options)
    {
        _sizeCache = sizeCache;
    }

    /// <inheritdoc />
    public string Path { get; }

    /// <summary>Number of frames in the folder.</summary>
    public int FrameCount { get; }

    /// <summary>The .NET composite format of the frame file names.</summary>
    public string FilenameTemplate { get; }

    /// <summary>The number of the first frame file.</summary>
    public int StartIndex { get; }

    /// <summary>The file of a 0-based frame index.</summary>
    /// <param name="frameIndex">The frame index.</param>
    /// <returns>The full path.</returns>
    public string FramePath(int frameIndex) =>
        System.IO.Path.Combine(Path, string.Format(System.Globalization.CultureInfo.InvariantCulture, FilenameTemplate, frameIndex + StartIndex));

    /// <inheritdoc />
    public VideoInfo Probe(CancellationToken cancellationToken)
    {
        if (_info != null) return _info;
        if (FrameCount <= 0) throw new SampleLoadException(Path, $"frame folder lists {FrameCount} frames");
        if (!Directory.Exists(Path)) throw new SampleLoadException(Path, "frame folder not found");
        var first = FramePath(0);
        var size = _sizeCache != null ? _sizeCache(first) : FfmpegTools.Probe(first, _options, cancellationToken);
        return _info = new VideoInfo(size.Width, size.Height, FrameCount, 30, 0, size.Codec);
    }

    /// <inheritdoc />
    public RgbFrames Decode(IReadOnlyList<int> frameIndices, int width, int height, CancellationToken cancellationToken)
    {
        var files = new string[frameIndices.Count];
        for (int i = 0; i < files.Length; i++) files[i] = FramePath(frameIndices[i]);
        return FfmpegTools.DecodeImages(files, width, height, _options, cancellationToken);
    }

    /// <summary>Turns a Python-style template (<c>img_{:05}.jpg</c>, <c>{:05d}</c>, <c>{}</c>) into a .NET format string.</summary>
    /// <param name="template">The template.</param>
    /// <returns>The .NET composite format.</returns>
    public static string NormalizeTemplate(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template, @"\{:?0?(\d*)d?\}", m =>
            m.Groups[1].Value.Length > 0 ? "{0:D" + m.Groups[1].Value + "}" : "{0}");
}
