using System.Diagnostics;
using Sifa.Data;

namespace Sifa.Tests.Data;

/// <summary>
/// Small test videos and frame folders made with ffmpeg in a temporary folder. When ffmpeg is missing
/// every test that uses this fixture fails with the install instructions (CI installs ffmpeg).
/// </summary>
public sealed class MediaFixture : IDisposable
{
    /// <summary>Frames in the ramp videos (frame n has every pixel at <see cref="RampValue"/>(n)).</summary>
    public const int RampFrames = 40;

    public MediaFixture()
    {
        if (!FfmpegTools.IsAvailable)
            throw new InvalidOperationException("These tests need ffmpeg. " + new FfmpegNotFoundException("ffmpeg").Message);
        Root = Path.Combine(Path.GetTempPath(), "sifa-data-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Root);

        // Ramp: 40 grey frames at 10 fps, 64x48, frame n = 6n on every channel; mpeg4 in mp4 (moov at the end) and avi.
        const string ramp = "nullsrc=s=64x48:r=10,format=gbrp,geq=r='6*N':g='6*N':b='6*N'";
        RampMp4 = Make("ramp.mp4", "-f", "lavfi", "-i", ramp, "-frames:v", "40", "-c:v", "mpeg4", "-q:v", "1", "-pix_fmt", "yuv420p");
        RampAvi = Make("ramp.avi", "-f", "lavfi", "-i", ramp, "-frames:v", "40", "-c:v", "mpeg4", "-q:v", "1", "-pix_fmt", "yuv420p");
        RampFaststart = Make("ramp_fast.mp4", "-f", "lavfi", "-i", ramp, "-frames:v", "40", "-c:v", "mpeg4", "-q:v", "1", "-pix_fmt", "yuv420p", "-movflags", "+faststart");
        // testsrc clips (content that moves), 2 s at 10 fps.
        TestSrcMp4 = Make("testsrc.mp4", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "2", "-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p");
        TestSrcAvi = Make("testsrc2.avi", "-f", "lavfi", "-i", "testsrc2=size=80x60:rate=10", "-t", "2", "-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p");

        // Frame folder of the ramp: img_00001.jpg ... img_00040.jpg.
        RampFrameDir = Path.Combine(Root, "frames", "ramp");
        Directory.CreateDirectory(RampFrameDir);
        Ffmpeg("-i", RampAvi, "-q:v", "1", "-start_number", "1", Path.Combine(RampFrameDir, "img_%05d.jpg"));
        TestSrcFrameDir = Path.Combine(Root, "frames", "testsrc");
        Directory.CreateDirectory(TestSrcFrameDir);
        Ffmpeg("-i", TestSrcMp4, "-q:v", "2", "-start_number", "1", Path.Combine(TestSrcFrameDir, "img_%05d.jpg"));
    }

    /// <summary>The temporary folder.</summary>
    public string Root { get; }

    public string RampMp4 { get; }
    public string RampAvi { get; }
    public string RampFaststart { get; }
    public string TestSrcMp4 { get; }
    public string TestSrcAvi { get; }
    public string RampFrameDir { get; }
    public string TestSrcFrameDir { get; }

    /// <summary>The grey level of ramp frame n.</summary>
    public static int RampValue(int n) => 6 * n;

    /// <summary>Writes a file under the root and returns its path.</summary>
    public string WriteText(string name, string text)
    {
        var p = Path.Combine(Root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
        return p;
    }

    /// <summary>A copy of a file cut to a fraction of its bytes.</summary>
    public string Truncated(string source, string name, double fraction)
    {
        var bytes = File.ReadAllBytes(source);
        var p = Path.Combine(Root, name);
        File.WriteAllBytes(p, bytes.AsSpan(0, (int)(bytes.Length * fraction)).ToArray());
        return p;
    }

    /// <summary>A copy of a frame folder (to damage it).</summary>
    public string CopyDir(string source, string name)
    {
        var dst = Path.Combine(Root, name);
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        return dst;
    }

    private string Make(string name, params string[] args)
    {
        var p = Path.Combine(Root, name);
        Ffmpeg(args.Append(p).ToArray());
        return p;
    }

    /// <summary>Runs ffmpeg (overwrite, quiet) and fails loudly on error.</summary>
    public static void Ffmpeg(params string[] args)
    {
        var psi = new ProcessStartInfo(FfmpegTools.FfmpegPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-hide_banner", "-nostdin", "-v", "error", "-y" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} failed: {err.Result}");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>An in-memory frame source for pipeline tests (no ffmpeg): frame i, pixel p, channel c = (i * 37 + p * 11 + c * 101) % 256.</summary>
public sealed class FakeFrameSource : IFrameSource
{
    public FakeFrameSource(int frames, int height, int width) { Frames = frames; Height = height; Width = width; }

    public int Frames { get; }
    public int Height { get; }
    public int Width { get; }
    public string Path => "fake";
    public int DecodeCalls { get; private set; }

    public static byte Pixel(int frame, int pixel, int channel) => (byte)((frame * 37 + pixel * 11 + channel * 101 + (pixel / 7) * 13) % 256);

    public byte[] NativeFrame(int frame)
    {
        var b = new byte[Height * Width * 3];
        for (int p = 0; p < Height * Width; p++)
            for (int c = 0; c < 3; c++) b[p * 3 + c] = Pixel(frame, p, c);
        return b;
    }

    public VideoInfo Probe(CancellationToken cancellationToken) => new(Width, Height, Frames, 25, Frames / 25.0, "fake");

    public RgbFrames Decode(IReadOnlyList<int> frameIndices, int width, int height, CancellationToken cancellationToken)
    {
        DecodeCalls++;
        var data = new byte[frameIndices.Count * width * height * 3];
        for (int i = 0; i < frameIndices.Count; i++)
        {
            var native = NativeFrame(frameIndices[i]);
            var f = width == Width && height == Height ? native : ImageOps.ResizeBilinear(native, Height, Width, 3, height, width);
            f.CopyTo(data, i * width * height * 3);
        }
        return new RgbFrames(data, frameIndices.Count, height, width);
    }
}
