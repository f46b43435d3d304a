using System.Collections.Concurrent;
using System.Globalization;

namespace Sifa.Data;

/// <summary>One video of a list: its file and label.</summary>
/// <param name="Path">The video file (rooted).</param>
/// <param name="Label">The class label.</param>
public sealed record VideoEntry(string Path, int Label);

/// <summary>One frame folder of a list: its directory, frame count and label.</summary>
/// <param name="Directory">The frame folder (rooted).</param>
/// <param name="FrameCount">Frames in the folder.</param>
/// <param name="Label">The class label.</param>
public sealed record FrameFolderEntry(string Directory, int FrameCount, int Label);

/// <summary>
/// Reads mmaction2-style annotation lists and class-name files. Every problem with a list (missing, empty, a bad line,
/// a label outside the classes) is a <see cref="DatasetException"/> naming the list and, where there is one, the line.
/// </summary>
public static class AnnotationFiles
{
    /// <summary>Reads a class-name file: one name per line (blank lines and surrounding spaces ignored); line order gives the label.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The names.</returns>
    public static IReadOnlyList<string> ReadClassNames(string path)
    {
        CheckFile(path, "class-name file");
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length == 0) throw new DatasetException($"class-name file is empty: {path}");
        return names;
    }

    /// <summary>
    /// Reads a video list. Each line is <c>path label</c> or the official SIFA / mmaction2 rawframe-style
    /// <c>path num_frames label</c> (the frame count is ignored: the video is probed), decided line by line. An unquoted
    /// path has no spaces: a line of more fields, or of three whose middle one is not an integer, is an error naming the
    /// line (a number is never folded into the path). A path with spaces is written in double quotes
    /// (<c>"my clip.mp4" 3</c>) or the fields are tab-separated. Blank lines and lines starting with <c>#</c> are skipped.
    /// </summary>
    /// <param name="listFile">The list file.</param>
    /// <param name="dataRoot">Folder the paths are relative to (the list's folder when null).</param>
    /// <returns>The entries.</returns>
    public static IReadOnlyList<VideoEntry> ReadVideoList(string listFile, string? dataRoot = null) =>
        ReadVideoLines(listFile, dataRoot).Select(l => l.Entry).ToArray();

    /// <summary>
    /// Reads a frame-folder list: lines <c>dir num_frames label</c>, the official format. The last two fields are the frame
    /// count and label (read from the right, as the official code does, so an unquoted folder may contain spaces); the
    /// folder may also be double-quoted or the fields tab-separated.
    /// </summary>
    /// <param name="listFile">The list file.</param>
    /// <param name="dataRoot">Folder the directories are relative to (the list's folder when null).</param>
    /// <returns>The entries.</returns>
    public static IReadOnlyList<FrameFolderEntry> ReadFrameList(string listFile, string? dataRoot = null) =>
        ReadFrameLines(listFile, dataRoot).Select(l => l.Entry).ToArray();

    private const string SpacesHint = "a path with spaces must be in double quotes (\"my clip.mp4\" 3) or the fields tab-separated";

    internal static List<Listed<VideoEntry>> ReadVideoLines(string listFile, string? dataRoot) =>
        ReadList<VideoEntry>(listFile, dataRoot, "`path label` or `path num_frames label`", (line, lineNo) =>
        {
            var (path, numbers) = line;
            if (numbers.Length is not (1 or 2))
                throw Bad(listFile, lineNo, $"{numbers.Length + 1} fields: expected `path label` or `path num_frames label`; {SpacesHint}");
            if (numbers.Length == 2 && !int.TryParse(numbers[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                throw Bad(listFile, lineNo, $"three fields are `path num_frames label`, but the frame count '{numbers[0]}' is not an integer; {SpacesHint}");
            int label = ParseInt(numbers[^1], listFile, lineNo, "label");
            return (p => new VideoEntry(p, label), path, label);
        }, rightAligned: false);

    internal static List<Listed<FrameFolderEntry>> ReadFrameLines(string listFile, string? dataRoot) =>
        ReadList<FrameFolderEntry>(listFile, dataRoot, "`dir num_frames label`", (line, lineNo) =>
        {
            var (path, numbers) = line;
            if (numbers.Length != 2) throw Bad(listFile, lineNo, $"{numbers.Length + 1} fields: expected `dir num_frames label`");
            int frames = ParseInt(numbers[0], listFile, lineNo, "frame count"), label = ParseInt(numbers[1], listFile, lineNo, "label");
            return (d => new FrameFolderEntry(d, frames, label), path, label);
        }, rightAligned: true);

    /// <summary>An entry of a list with its line number and label, for messages.</summary>
    internal readonly record struct Listed<T>(T Entry, int Line, int Label);

    /// <summary>
    /// The class names of a list: <paramref name="classNames"/> when given (e.g. the training data's, for a validation
    /// list), else the class-name file, else the label numbers 0..max. Every label must fit them.
    /// </summary>
    internal static IReadOnlyList<string> ClassNamesFor<T>(IReadOnlyList<Listed<T>> lines, string? classNamesFile, string listFile,
        IReadOnlyList<string>? classNames)
    {
        string source;
        IReadOnlyList<string> names;
        if (classNames != null) (names, source) = (classNames, "the training data");
        else if (classNamesFile != null) (names, source) = (ReadClassNames(classNamesFile), classNamesFile);
        else
        {
            int max = lines.Max(l => l.Label);
            (names, source) = (Enumerable.Range(0, max + 1).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray(), "");
        }
        foreach (var l in lines)
        {
            if (l.Label < 0) throw Bad(listFile, l.Line, $"negative label {l.Label}");
            if (l.Label >= names.Count) throw Bad(listFile, l.Line, $"label {l.Label} but {source} has only {names.Count} classes (0..{names.Count - 1})");
        }
        return names;
    }

    // Each line splits into a path and number fields (SplitLine), which `parse` checks and turns into an entry.
    private static List<Listed<T>> ReadList<T>(string listFile, string? dataRoot, string usage,
        Func<(string Path, string[] Numbers), int, (Func<string, T> Entry, string Path, int Label)> parse, bool rightAligned)
    {
        var root = dataRoot ?? Path.GetDirectoryName(Path.GetFullPath(listFile)) ?? ".";
        var list = new List<Listed<T>>();
        foreach (var (line, lineNo) in Lines(listFile))
        {
            var (entry, path, label) = parse(SplitLine(line, rightAligned, listFile, lineNo), lineNo);
            list.Add(new Listed<T>(entry(Path.Combine(root, path)), lineNo, label));
        }
        if (list.Count == 0) throw new DatasetException($"list file has no entries (expected {usage}): {listFile}");
        return list;
    }

    /// <summary>
    /// One list line as a path and the fields after it: <c>"quoted path" f1 f2</c>; tab-separated <c>path\tf1\tf2</c>;
    /// else whitespace-separated, the path the first field (or, <paramref name="rightAligned"/>, everything before the
    /// last two fields, joined by single spaces).
    /// </summary>
    internal static (string Path, string[] Numbers) SplitLine(string line, bool rightAligned, string file = "list", int lineNo = 0)
    {
        if (line.StartsWith('"'))
        {
            int close = line.IndexOf('"', 1);
            if (close < 0) throw Bad(file, lineNo, "unclosed quote");
            var path = line[1..close];
            var rest = line[(close + 1)..];
            if (rest.Length > 0 && !char.IsWhiteSpace(rest[0])) throw Bad(file, lineNo, "expected a space or tab after the quoted path");
            if (path.Length == 0) throw Bad(file, lineNo, "empty path");
            return (path, rest.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
        if (line.Contains('\t'))
        {
            var f = line.Split('\t').Select(x => x.Trim()).Where(x => x.Length > 0).ToArray();
            return (f[0], f[1..]);
        }
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (rightAligned && fields.Length > 3) return (string.Join(' ', fields[..^2]), fields[^2..]);
        return (fields[0], fields[1..]);
    }

    private static IEnumerable<(string Line, int LineNo)> Lines(string listFile)
    {
        CheckFile(listFile, "list file");
        int n = 0;
        foreach (var raw in File.ReadLines(listFile))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            yield return (line, n);
        }
    }

    // A missing list is a FileNotFoundException like any missing input; a FIFO or device would block the read.
    private static void CheckFile(string path, string what)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"{what} not found: {path}", path);
        if (FileChecks.Problem(path, what) is { } problem && !problem.EndsWith("(0 bytes)", StringComparison.Ordinal))
            throw new DatasetException($"{problem}: {path}");
    }

    private static int ParseInt(string s, string file, int lineNo, string what) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(file, lineNo, $"bad {what} '{s}'");

    private static DatasetException Bad(string file, int lineNo, string msg) => new($"{file}:{lineNo}: {msg}");
}

/// <summary>Shared plumbing of the file-backed datasets: probe caching and error tagging.</summary>
public abstract class FileVideoDataset : IVideoDataset
{
    private readonly ConcurrentDictionary<string, VideoInfo> _probes = new();

    /// <summary>Creates the dataset (checks that ffmpeg is installed).</summary>
    /// <param name="pipeline">Sampling and transforms.</param>
    /// <exception cref="FfmpegNotFoundException">ffmpeg or ffprobe is missing.</exception>
    protected FileVideoDataset(ClipPipeline pipeline)
    {
        FfmpegTools.EnsureAvailable();
        Pipeline = pipeline;
    }

    /// <summary>Sampling and transforms.</summary>
    public ClipPipeline Pipeline { get; }

    /// <inheritdoc />
    public abstract int Count { get; }

    /// <inheritdoc />
    public abstract IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc />
    public abstract int GetLabel(int index);

    /// <inheritdoc />
    public abstract string GetSource(int index);

    /// <summary>The frame source of a sample.</summary>
    /// <param name="index">The sample index.</param>
    /// <returns>The source.</returns>
    protected abstract IFrameSource CreateSource(int index);

    /// <summary>Probes a file once and remembers the result (failures are not remembered).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The probe result.</returns>
    protected VideoInfo CachedProbe(string path)
    {
        if (_probes.TryGetValue(path, out var info)) return info;
        info = FfmpegTools.Probe(path, Pipeline.Decode);
        _probes[path] = info;
        return info;
    }

    /// <inheritdoc />
    public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"dataset has {Count} samples");
        try
        {
            return Pipeline.Run(CreateSource(index), GetLabel(index), rng, cancellationToken);
        }
        catch (SampleLoadException e)
        {
            e.Index = index;
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SampleLoadException(GetSource(index), e.Message, e) { Index = index };
        }
    }
}

/// <summary>A dataset of video files, one <see cref="VideoEntry"/> per sample, decoded with ffmpeg.</summary>
public abstract class VideoFileDataset : FileVideoDataset
{
    private IReadOnlyList<VideoEntry> _entries = Array.Empty<VideoEntry>();
    private IReadOnlyList<string> _classNames = Array.Empty<string>();

    /// <summary>Creates the dataset (checks that ffmpeg is installed); the subclass then calls <see cref="SetEntries"/>.</summary>
    /// <param name="pipeline">Sampling and transforms.</param>
    protected VideoFileDataset(ClipPipeline pipeline) : base(pipeline) { }

    /// <summary>Sets the samples and the class names their labels index.</summary>
    protected void SetEntries(IReadOnlyList<VideoEntry> entries, IReadOnlyList<string> classNames)
    {
        _entries = entries;
        _classNames = classNames;
    }

    /// <summary>The videos.</summary>
    public IReadOnlyList<VideoEntry> Entries => _entries;

    /// <inheritdoc />
    public override int Count => _entries.Count;

    /// <inheritdoc />
    public override IReadOnlyList<string> ClassNames => _classNames;

    /// <inheritdoc />
    public override int GetLabel(int index) => _entries[index].Label;

    /// <inheritdoc />
    public override string GetSource(int index) => _entries[index].Path;

    /// <inheritdoc />
    protected override IFrameSource CreateSource(int index) => new VideoFileSource(_entries[index].Path, Pipeline.Decode, CachedProbe);
}

/// <summary>A list of video files (<c>relative/path.mp4 label</c> per line), decoded with ffmpeg.</summary>
public sealed class VideoListDataset : VideoFileDataset
{
    /// <summary>Reads the list.</summary>
    /// <param name="listFile">The list file.</param>
    /// <param name="dataRoot">Folder the paths are relative to (the list's folder when null).</param>
    /// <param name="pipeline">Sampling and transforms.</param>
    /// <param name="classNamesFile">Optional class-name file (one name per line).</param>
    /// <param name="classNames">The classes to use instead (e.g. the training data's for a validation list); every label must fit them.</param>
    public VideoListDataset(string listFile, string? dataRoot, ClipPipeline pipeline, string? classNamesFile = null,
        IReadOnlyList<string>? classNames = null) : base(pipeline)
    {
        var lines = AnnotationFiles.ReadVideoLines(listFile, dataRoot);
        SetEntries(lines.Select(l => l.Entry).ToArray(), AnnotationFiles.ClassNamesFor(lines, classNamesFile, listFile, classNames));
    }
}

/// <summary>
/// A list of frame folders (<c>dir num_frames label</c> per line) holding frame images named by a
/// template (default <c>img_{:05}.jpg</c>, from 1), decoded with ffmpeg.
/// </summary>
public sealed class RawFrameDataset : FileVideoDataset
{
    /// <summary>Reads the list.</summary>
    /// <param name="listFile">The list file.</param>
    /// <param name="dataRoot">Folder the directories are relative to (the list's folder when null).</param>
    /// <param name="pipeline">Sampling and transforms.</param>
    /// <param name="classNamesFile">Optional class-name file (one name per line).</param>
    /// <param name="filenameTemplate">Frame file names, Python (<c>img_{:05}.jpg</c>) or .NET (<c>img_{0:D5}.jpg</c>) style.</param>
    /// <param name="startIndex">The number of the first frame file.</param>
    /// <param name="classNames">The classes to use instead (e.g. the training data's for a validation list); every label must fit them.</param>
    public RawFrameDataset(string listFile, string? dataRoot, ClipPipeline pipeline, string? classNamesFile = null,
        string filenameTemplate = "img_{:05}.jpg", int startIndex = 1, IReadOnlyList<string>? classNames = null) : base(pipeline)
    {
        var lines = AnnotationFiles.ReadFrameLines(listFile, dataRoot);
        Entries = lines.Select(l => l.Entry).ToArray();
        ClassNames = AnnotationFiles.ClassNamesFor(lines, classNamesFile, listFile, classNames);
        FilenameTemplate = FrameFolderSource.NormalizeTemplate(filenameTemplate);
        StartIndex = startIndex;
    }

    /// <summary>The frame folders.</summary>
    public IReadOnlyList<FrameFolderEntry> Entries { get; }

    /// <summary>The .NET format of the frame file names.</summary>
    public string FilenameTemplate { get; }

    /// <summary>The number of the first frame file.</summary>
    public int StartIndex { get; }

    /// <inheritdoc />
    public override int Count => Entries.Count;

    /// <inheritdoc />
    public override IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc />
    public override int GetLabel(int index) => Entries[index].Label;

    /// <inheritdoc />
    public override string GetSource(int index) => Entries[index].Directory;

    /// <inheritdoc />
    protected override IFrameSource CreateSource(int index)
    {
        var e = Entries[index];
        return new FrameFolderSource(e.Directory, e.FrameCount, FilenameTemplate, StartIndex, Pipeline.Decode, CachedProbe);
    }
}

/// <summary>
/// UCF-101-style class folders: <c>root/ClassName/*.avi|mp4|...</c> (searched recursively). Classes are
/// the folder names sorted ordinally, or the order of a class-name file when one is given.
/// </summary>
public sealed class ClassFolderDataset : VideoFileDataset
{
    /// <summary>Video file extensions looked for by default.</summary>
    public static IReadOnlyList<string> DefaultExtensions { get; } = new[] { ".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg" };

    /// <summary>Scans the folders.</summary>
    /// <param name="root">The folder holding one sub-folder per class.</param>
    /// <param name="pipeline">Sampling and transforms.</param>
    /// <param name="classNamesFile">Optional class-name file fixing the label order (every name must have a folder).</param>
    /// <param name="extensions">File extensions to include (<see cref="DefaultExtensions"/> when null).</param>
    /// <param name="classNames">The classes to use instead (e.g. the training data's for validation folders); each must have a folder.</param>
    public ClassFolderDataset(string root, ClipPipeline pipeline, string? classNamesFile = null, IEnumerable<string>? extensions = null,
        IReadOnlyList<string>? classNames = null) : base(pipeline)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"dataset folder not found: {root}");
        var exts = new HashSet<string>(extensions ?? DefaultExtensions, StringComparer.OrdinalIgnoreCase);
        IReadOnlyList<string> classes = classNames ?? (classNamesFile != null
            ? AnnotationFiles.ReadClassNames(classNamesFile)
            : Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray());
        var entries = new List<VideoEntry>();
        for (int label = 0; label < classes.Count; label++)
        {
            var dir = Path.Combine(root, classes[label]);
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"class folder not found: {dir}");
            entries.AddRange(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Where(f => exts.Contains(Path.GetExtension(f)))
                .Order(StringComparer.Ordinal)
                .Select(f => new VideoEntry(f, label)));
        }
        if (entries.Count == 0)
            throw new DatasetException($"no video files ({string.Join(", ", exts.Order(StringComparer.Ordinal))}) in the {classes.Count} class folders of {root}");
        SetEntries(entries, classes);
    }
}
