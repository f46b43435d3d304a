using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Sifa.Data;

/// <summary>What <c>ffprobe</c> reports about a video's first video stream (or an image).</summary>
/// <param name="Width">Coded width in pixels.</param>
/// <param name="Height">Coded height in pixels.</param>
/// <param name="FrameCount">Number of frames (container metadata, or counted packets when absent).</param>
/// <param name="FramesPerSecond">Average frame rate (used to turn frame indices into seek times).</param>
/// <param name="DurationSeconds">Duration in seconds (0 when unknown).</param>
/// <param name="Codec">The codec name, when reported.</param>
public sealed record VideoInfo(int Width, int Height, int FrameCount, double FramesPerSecond, double DurationSeconds, string? Codec);

/// <summary>Options for the ffmpeg subprocesses that decode videos and frame images.</summary>
public sealed record DecodeOptions
{
    /// <summary>Decoder threads per ffmpeg process (1 suits several loader workers; 0 lets ffmpeg choose).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Wall-clock limit for one ffmpeg/ffprobe call; the process is killed when it passes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Frames further apart than this are decoded by separate seeks (one ffmpeg call each) rather than
    /// by decoding straight through the gap.
    /// </summary>
    public int MaxDecodeGap { get; init; } = 96;

    /// <summary>
    /// How many trailing frames may be missing from ffmpeg's output (container frame counts are
    /// sometimes off by one or two) before the video counts as truncated; missing frames repeat the
    /// last decoded one.
    /// </summary>
    public int MissingFrameTolerance { get; init; } = 2;

    /// <summary>Default options.</summary>
    public static DecodeOptions Default { get; } = new();
}

/// <summary>
/// RGB24 frames as ffmpeg produces them: <see cref="Count"/> frames of <see cref="Height"/> x
/// <see cref="Width"/> pixels, each pixel three bytes R, G, B (layout (Count, H, W, 3)).
/// </summary>
public sealed class RgbFrames
{
    /// <summary>Wraps decoded bytes.</summary>
    /// <param name="data">The pixels, (count, height, width, 3) row-major.</param>
    /// <param name="count">Number of frames.</param>
    /// <param name="height">Frame height.</param>
    /// <param name="width">Frame width.</param>
    public RgbFrames(byte[] data, int count, int height, int width)
    {
        if ((long)count * height * width * 3 > data.Length)
            throw new ArgumentException($"{data.Length} bytes cannot hold {count} frames of {width}x{height} RGB24");
        Data = data;
        Count = count;
        Height = height;
        Width = width;
    }

    /// <summary>The pixels, (Count, Height, Width, 3) row-major.</summary>
    public byte[] Data { get; }

    /// <summary>Number of frames.</summary>
    public int Count { get; }

    /// <summary>Frame height in pixels.</summary>
    public int Height { get; }

    /// <summary>Frame width in pixels.</summary>
    public int Width { get; }

    /// <summary>Bytes per frame (Height * Width * 3).</summary>
    public int FrameBytes => Height * Width * 3;

    /// <summary>The bytes of one frame.</summary>
    /// <param name="i">Frame number.</param>
    /// <returns>The frame's bytes.</returns>
    public ReadOnlySpan<byte> Frame(int i) => Data.AsSpan(i * FrameBytes, FrameBytes);
}

/// <summary>
/// Finds and runs the <c>ffmpeg</c>/<c>ffprobe</c> executables: probing, and decoding videos and frame
/// images to raw RGB24 through a pipe (<c>-f rawvideo -pix_fmt rgb24 pipe:1</c>). Stderr is read
/// asynchronously, the process is killed on cancellation or timeout, and failures on bad input come
/// out as <see cref="SampleLoadException"/> naming the file.
/// </summary>
public static class FfmpegTools
{
    /// <summary>Environment variable that overrides the ffmpeg executable path.</summary>
    public const string FfmpegEnvironmentVariable = "SIFA_FFMPEG";

    /// <summary>Environment variable that overrides the ffprobe executable path.</summary>
    public const string FfprobeEnvironmentVariable = "SIFA_FFPROBE";

    private static string? _ffmpeg, _ffprobe;

    /// <summary>The ffmpeg executable, located through <see cref="FfmpegEnvironmentVariable"/> or PATH.</summary>
    /// <exception cref="FfmpegNotFoundException">ffmpeg is not installed.</exception>
    public static string FfmpegPath => _ffmpeg ??= Find("ffmpeg", FfmpegEnvironmentVariable) ?? throw new FfmpegNotFoundException("ffmpeg");

    /// <summary>The ffprobe executable, located through <see cref="FfprobeEnvironmentVariable"/> or PATH.</summary>
    /// <exception cref="FfmpegNotFoundException">ffprobe is not installed.</exception>
    public static string FfprobePath => _ffprobe ??= Find("ffprobe", FfprobeEnvironmentVariable) ?? throw new FfmpegNotFoundException("ffprobe");

    /// <summary>True when both ffmpeg and ffprobe can be found.</summary>
    public static bool IsAvailable
    {
        get
        {
            try { _ = FfmpegPath; _ = FfprobePath; return true; }
            catch (FfmpegNotFoundException) { return false; }
        }
    }

    /// <summary>Throws one clear <see cref="FfmpegNotFoundException"/> (with install instructions) when ffmpeg or ffprobe is missing.</summary>
    public static void EnsureAvailable()
    {
        _ = FfmpegPath;
        _ = FfprobePath;
    }

    /// <summary>Looks for an executable: the environment override first, then each PATH directory.</summary>
    /// <param name="name">The executable name without extension.</param>
    /// <param name="environmentVariable">The override variable.</param>
    /// <returns>The full path, or null.</returns>
    private static string? Find(string name, string environmentVariable)
    {
        var over = Environment.GetEnvironmentVariable(environmentVariable);
        if (!string.IsNullOrWhiteSpace(over))
            return File.Exists(over) ? Path.GetFullPath(over) : null;
        var exe = OperatingSystem.IsWindows() ? name + ".exe" : name;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                var candidate = Path.Combine(dir.Trim('"'), exe);
                if (File.Exists(candidate)) return candidate;
            }
            catch (ArgumentException) { }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------ probing

    /// <summary>
    /// Probes a video (or image) with ffprobe: size, frame count (metadata, else counted packets),
    /// frame rate and duration.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Timeouts (defaults when null).</param>
    /// <param name="cancellationToken">Cancels the probe (the process is killed).</param>
    /// <returns>The stream description.</returns>
    /// <exception cref="SampleLoadException">The file is missing, unreadable, or has no video stream.</exception>
    public static VideoInfo Probe(string path, DecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DecodeOptions.Default;
        if (FileChecks.Problem(path, "video file") is { } problem) throw new SampleLoadException(path, problem);
        var args = new List<string>
        {
            "-v", "error", "-select_streams", "v:0",
            "-show_entries", "stream=width,height,nb_frames,r_frame_rate,avg_frame_rate,duration,codec_name:format=duration",
            "-of", "default=noprint_wrappers=1", "file:" + Path.GetFullPath(path),
        };
        var r = Run(FfprobePath, args, null, 0, options.Timeout, cancellationToken, path);
        var text = Encoding.UTF8.GetString(r.Stdout, 0, r.Length);
        if (r.ExitCode != 0) throw new SampleLoadException(path, $"ffprobe failed (exit code {r.ExitCode}; corrupt or unreadable file){Tail(r.Stderr)}");
        var kv = new Dictionary<string, string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = line.IndexOf('=');
            if (eq > 0) kv.TryAdd(line[..eq], line[(eq + 1)..]);   // stream entries come first, then format
        }
        int width = ParseInt(kv, "width"), height = ParseInt(kv, "height");
        if (width <= 0 || height <= 0) throw new SampleLoadException(path, $"no video stream found{Tail(r.Stderr)}");
        double fps = ParseRate(kv.GetValueOrDefault("avg_frame_rate"));
        if (fps <= 0) fps = ParseRate(kv.GetValueOrDefault("r_frame_rate"));
        double duration = ParseDouble(kv.GetValueOrDefault("duration"));
        int frames = ParseInt(kv, "nb_frames");
        if (frames <= 0)
        {
            // Containers without a frame count (webm/mkv, some avi): count packets.
            var countArgs = new List<string>
            {
                "-v", "error", "-select_streams", "v:0", "-count_packets",
                "-show_entries", "stream=nb_read_packets", "-of", "default=noprint_wrappers=1:nokey=1", "file:" + Path.GetFullPath(path),
            };
            var c = Run(FfprobePath, countArgs, null, 0, options.Timeout, cancellationToken, path);
            if (c.ExitCode == 0)
                int.TryParse(Encoding.UTF8.GetString(c.Stdout, 0, c.Length).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out frames);
            if (frames <= 0 && duration > 0 && fps > 0) frames = (int)Math.Round(duration * fps);
        }
        if (frames <= 0) throw new SampleLoadException(path, $"video has no frames{Tail(r.Stderr)}");
        if (fps <= 0) fps = duration > 0 ? frames / duration : 25;
        return new VideoInfo(width, height, frames, fps, duration, kv.GetValueOrDefault("codec_name"));
    }

    private static int ParseInt(Dictionary<string, string> kv, string key) =>
        kv.TryGetValue(key, out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static double ParseDouble(string? s) =>
        s != null && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : 0;

    private static double ParseRate(string? s)
    {
        if (s == null) return 0;
        int slash = s.IndexOf('/');
        if (slash < 0) return ParseDouble(s);
        double num = ParseDouble(s[..slash]), den = ParseDouble(s[(slash + 1)..]);
        return den > 0 ? num / den : 0;
    }

    // ------------------------------------------------------------------------------------------ decoding

    /// <summary>
    /// Decodes selected frames of a video to RGB24 with ffmpeg, scaled to <paramref name="width"/> x
    /// <paramref name="height"/>. Each run of nearby frames is one ffmpeg call that seeks to the run's
    /// first frame (<c>-ss</c> before <c>-i</c>, frame-accurate), keeps the wanted frames with a
    /// <c>select</c> filter and stops after them (<c>-frames:v</c>).
    /// </summary>
    /// <param name="path">The video file.</param>
    /// <param name="info">The probe result (frame rate and size).</param>
    /// <param name="frameIndices">0-based frame indices, strictly increasing.</param>
    /// <param name="width">Output width (the native width for no scaling).</param>
    /// <param name="height">Output height.</param>
    /// <param name="options">Decoder options (defaults when null).</param>
    /// <param name="cancellationToken">Cancels decoding (the process is killed).</param>
    /// <returns>The frames, one per index, in order.</returns>
    /// <exception cref="SampleLoadException">The video is missing, corrupt or truncated.</exception>
    public static RgbFrames DecodeVideo(string path, VideoInfo info, IReadOnlyList<int> frameIndices, int width, int height,
        DecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DecodeOptions.Default;
        CheckIndices(frameIndices);
        if (width <= 0 || height <= 0) throw new ArgumentException($"bad output size {width}x{height}");
        if (FileChecks.Problem(path, "video file") is { } problem) throw new SampleLoadException(path, problem);
        int frameBytes = width * height * 3;
        long total = (long)frameBytes * frameIndices.Count;
        if (total > Array.MaxLength) throw new ArgumentException($"{frameIndices.Count} frames of {width}x{height} are too large for one buffer");
        var outBuf = GC.AllocateUninitializedArray<byte>((int)total);
        int produced = 0;
        int runStart = 0;
        string? lastErr = null;
        while (runStart < frameIndices.Count)
        {
            int runEnd = runStart;   // inclusive
            while (runEnd + 1 < frameIndices.Count && frameIndices[runEnd + 1] - frameIndices[runEnd] <= Math.Max(1, options.MaxDecodeGap)) runEnd++;
            int first = frameIndices[runStart], count = runEnd - runStart + 1;
            bool contiguous = frameIndices[runEnd] - first + 1 == count;
            var args = new List<string> { "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-threads", options.Threads.ToString(CultureInfo.InvariantCulture), "-noautorotate" };
            if (first > 0)
                args.AddRange(new[] { "-ss", ((first - 0.5) / info.FramesPerSecond).ToString("0.######", CultureInfo.InvariantCulture) });
            args.AddRange(new[] { "-i", "file:" + Path.GetFullPath(path), "-an", "-sn", "-dn" });
            var filters = new List<string>();
            if (!contiguous)
            {
                var sb = new StringBuilder("select='");
                for (int i = runStart; i <= runEnd; i++)
                {
                    if (i > runStart) sb.Append('+');
                    sb.Append("eq(n\\,").Append((frameIndices[i] - first).ToString(CultureInfo.InvariantCulture)).Append(')');
                }
                filters.Add(sb.Append('\'').ToString());
            }
            if (width != info.Width || height != info.Height)
                filters.Add($"scale={width}:{height}:flags=bilinear");
            if (filters.Count > 0) args.AddRange(new[] { "-vf", string.Join(",", filters) });
            args.AddRange(new[] { "-vsync", "passthrough", "-frames:v", count.ToString(CultureInfo.InvariantCulture), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1" });

            var r = Run(FfmpegPath, args, null, count * frameBytes, options.Timeout, cancellationToken, path);
            int got = r.Length / frameBytes;
            Buffer.BlockCopy(r.Stdout, 0, outBuf, produced * frameBytes, got * frameBytes);
            produced += got;
            if (r.ExitCode != 0 || got < count)
            {
                lastErr = r.ExitCode != 0 ? $"ffmpeg failed (exit code {r.ExitCode})" : $"ffmpeg produced {got} of {count} frames starting at frame {first} (video reports {info.FrameCount})";
                lastErr += Tail(r.Stderr);
                if (r.ExitCode != 0 || produced == 0 || runEnd < frameIndices.Count - 1 || count - got > options.MissingFrameTolerance)
                    throw new SampleLoadException(path, $"corrupt or truncated video: {lastErr}");
                break;
            }
            runStart = runEnd + 1;
        }
        // Tolerated short tail: repeat the last decoded frame.
        for (int i = produced; i < frameIndices.Count; i++)
            Buffer.BlockCopy(outBuf, (produced - 1) * frameBytes, outBuf, i * frameBytes, frameBytes);
        return new RgbFrames(outBuf, frameIndices.Count, height, width);
    }

    /// <summary>
    /// Decodes image files (JPEG, PNG, ... anything ffmpeg reads) to RGB24 in one ffmpeg call, through
    /// the concat demuxer with the file list on stdin; every image is scaled to
    /// <paramref name="width"/> x <paramref name="height"/>. When ffmpeg fails, each file is checked
    /// on its own so that the error names the bad image.
    /// </summary>
    /// <param name="files">The image files, in output order (repeats allowed).</param>
    /// <param name="width">Output width.</param>
    /// <param name="height">Output height.</param>
    /// <param name="options">Decoder options (defaults when null).</param>
    /// <param name="cancellationToken">Cancels decoding (the process is killed).</param>
    /// <returns>One frame per file.</returns>
    /// <exception cref="SampleLoadException">An image is missing or cannot be decoded.</exception>
    public static RgbFrames DecodeImages(IReadOnlyList<string> files, int width, int height,
        DecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DecodeOptions.Default;
        if (files.Count == 0) throw new ArgumentException("no image files given");
        foreach (var f in files.Distinct())
            if (FileChecks.Problem(f, "frame image") is { } problem) throw new SampleLoadException(f, problem);
        int frameBytes = width * height * 3;
        var list = new StringBuilder("ffconcat version 1.0\n");
        foreach (var f in files)
            list.Append("file 'file:").Append(Path.GetFullPath(f).Replace("'", "'\\''")).Append("'\nduration 1\n");
        var args = new List<string>
        {
            "-hide_banner", "-nostats", "-v", "error", "-threads", options.Threads.ToString(CultureInfo.InvariantCulture),
            "-f", "concat", "-safe", "0", "-protocol_whitelist", "file,pipe", "-i", "pipe:0",
            "-an", "-vf", $"scale={width}:{height}:flags=bilinear", "-vsync", "passthrough",
            "-frames:v", files.Count.ToString(CultureInfo.InvariantCulture), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
        };
        var r = Run(FfmpegPath, args, Encoding.UTF8.GetBytes(list.ToString()), files.Count * frameBytes, options.Timeout, cancellationToken, files[0]);
        if (r.ExitCode == 0 && r.Length >= files.Count * frameBytes)
            return new RgbFrames(r.Stdout, files.Count, height, width);
        // Find the culprit: decode the files one at a time.
        foreach (var f in files.Distinct())
        {
            var one = new List<string>
            {
                "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-i", "file:" + Path.GetFullPath(f),
                "-vf", $"scale={width}:{height}:flags=bilinear", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
            };
            var q = Run(FfmpegPath, one, null, frameBytes, options.Timeout, cancellationToken, f);
            if (q.ExitCode != 0 || q.Length < frameBytes)
                throw new SampleLoadException(f, $"corrupt frame image{Tail(q.Stderr)}");
        }
        throw new SampleLoadException(Path.GetDirectoryName(files[0]) ?? files[0],
            $"ffmpeg decoded {r.Length / frameBytes} of {files.Count} frame images (exit code {r.ExitCode}){Tail(r.Stderr)}");
    }

    private static void CheckIndices(IReadOnlyList<int> idx)
    {
        if (idx.Count == 0) throw new ArgumentException("no frame indices given");
        for (int i = 0; i < idx.Count; i++)
        {
            if (idx[i] < 0) throw new ArgumentException($"negative frame index {idx[i]}");
            if (i > 0 && idx[i] <= idx[i - 1]) throw new ArgumentException("frame indices must be strictly increasing");
        }
    }

    private static string Tail(string stderr)
    {
        stderr = stderr.Trim();
        if (stderr.Length == 0) return "";
        if (stderr.Length > 600) stderr = "..." + stderr[^600..];
        return ": " + stderr.Replace('\n', ' ').Replace("\r", "");
    }

    // ------------------------------------------------------------------------------------------ processes

    /// <summary>The outcome of one subprocess run.</summary>
    /// <param name="ExitCode">The exit status.</param>
    /// <param name="Stdout">The stdout bytes (buffer may be longer than <paramref name="Length"/>).</param>
    /// <param name="Length">Number of valid stdout bytes.</param>
    /// <param name="Stderr">The tail of stderr.</param>
    internal readonly record struct ProcessOutput(int ExitCode, byte[] Stdout, int Length, string Stderr);

    /// <summary>
    /// Runs a process to completion: stdout read into a buffer on the calling thread, stderr drained
    /// asynchronously (last 16 KiB kept), optional stdin written asynchronously; killed (whole tree)
    /// on cancellation or after <paramref name="timeout"/>.
    /// </summary>
    internal static ProcessOutput Run(string exe, IEnumerable<string> args, byte[]? stdin, int expectedBytes,
        TimeSpan timeout, CancellationToken cancellationToken, string subject)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin != null,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = new Process { StartInfo = psi };
        try { p.Start(); }
        catch (Win32Exception) { throw new FfmpegNotFoundException(Path.GetFileNameWithoutExtension(exe)); }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var reg = cts.Token.Register(static o => Kill((Process)o!), p);
        var stderrTask = ReadTailAsync(p.StandardError, 16384);
        Task stdinTask = Task.CompletedTask;
        if (stdin != null)
        {
            var input = p.StandardInput.BaseStream;
            stdinTask = Task.Run(async () =>
            {
                try { await input.WriteAsync(stdin).ConfigureAwait(false); }
                catch (IOException) { }            // ffmpeg exited early; its stderr says why
                catch (ObjectDisposedException) { }
                finally { try { input.Close(); } catch (IOException) { } }
            });
        }

        var buf = GC.AllocateUninitializedArray<byte>(Math.Max(expectedBytes, 4096));
        int len = 0;
        var stdout = p.StandardOutput.BaseStream;
        while (true)
        {
            if (len == buf.Length)
            {
                if (expectedBytes > 0)
                {
                    // Enough: drain and drop the rest so that ffmpeg never blocks on a full pipe.
                    var scratch = new byte[65536];
                    while (stdout.Read(scratch, 0, scratch.Length) > 0) { }
                    break;
                }
                Array.Resize(ref buf, buf.Length * 2);
            }
            int n = stdout.Read(buf, len, buf.Length - len);
            if (n <= 0) break;
            len += n;
        }
        p.WaitForExit();
        string stderr = stderrTask.GetAwaiter().GetResult();
        try { stdinTask.GetAwaiter().GetResult(); } catch (Exception) { }
        if (cts.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new SampleLoadException(subject, $"{Path.GetFileName(exe)} timed out after {timeout.TotalSeconds:0.#} s and was killed");
        }
        return new ProcessOutput(p.ExitCode, buf, len, stderr);
    }

    private static void Kill(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        catch (Win32Exception) { }
    }

    private static async Task<string> ReadTailAsync(StreamReader reader, int keep)
    {
        var sb = new StringBuilder();
        var chunk = new char[4096];
        while (true)
        {
            int n;
            try { n = await reader.ReadAsync(chunk.AsMemory()).ConfigureAwait(false); }
            catch (IOException) { break; }
            catch (ObjectDisposedException) { break; }
            if (n <= 0) break;
            sb.Append(chunk, 0, n);
            if (sb.Length > 2 * keep) sb.Remove(0, sb.Length - keep);
        }
        if (sb.Length > keep) sb.Remove(0, sb.Length - keep);
        return sb.ToString();
    }
}
