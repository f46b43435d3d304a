using System.Diagnostics;
using Sifa.Data;
using Xunit.Abstractions;

namespace Sifa.Tests.Data;

public class VideoPipelineTests : IClassFixture<MediaFixture>
{
    private readonly MediaFixture _m;
    private readonly ITestOutputHelper _out;

    public VideoPipelineTests(MediaFixture media, ITestOutputHelper output)
    {
        _m = media;
        _out = output;
    }

    private static readonly ClipTransformOptions Small = new()
    {
        ShortSideMin = 48, ShortSideMax = 64, CropSize = 40, TestShortSide = 48, TestCropSize = 48,
    };

    private static float Mean(float[] data, int offset, int count)
    {
        double s = 0;
        for (int i = 0; i < count; i++) s += data[offset + i];
        return (float)(s / count);
    }

    [Fact]
    public void ProbeReadsSizeFrameCountAndRate()
    {
        foreach (var f in new[] { _m.RampMp4, _m.RampAvi, _m.RampFaststart })
        {
            var info = FfmpegTools.Probe(f);
            Assert.Equal(64, info.Width);
            Assert.Equal(48, info.Height);
            Assert.Equal(MediaFixture.RampFrames, info.FrameCount);
            Assert.Equal(10, info.FramesPerSecond, 3);
        }
        var png = FfmpegTools.Probe(Path.Combine(_m.RampFrameDir, "img_00001.jpg"));
        Assert.Equal((64, 48), (png.Width, png.Height));
    }

    [Theory]
    [InlineData(96)]
    [InlineData(3)]   // forces one seek per frame group
    public void DecodingSeeksToTheExactFrames(int maxGap)
    {
        int[] wanted = { 0, 3, 4, 17, 30, 39 };
        foreach (var f in new[] { _m.RampMp4, _m.RampAvi })
        {
            var info = FfmpegTools.Probe(f);
            var frames = FfmpegTools.DecodeVideo(f, info, wanted, 64, 48, new DecodeOptions { MaxDecodeGap = maxGap });
            Assert.Equal(wanted.Length, frames.Count);
            for (int i = 0; i < wanted.Length; i++)
            {
                var px = frames.Frame(i);
                double mean = 0;
                foreach (var b in px) mean += b;
                mean /= px.Length;
                Assert.True(Math.Abs(mean - MediaFixture.RampValue(wanted[i])) < 4, $"{Path.GetFileName(f)} frame {wanted[i]}: mean {mean:0.0}, want {MediaFixture.RampValue(wanted[i])}");
            }
            // ffmpeg-side scaling
            var scaled = FfmpegTools.DecodeVideo(f, info, new[] { 10, 20 }, 32, 24);
            Assert.Equal(32 * 24 * 3 * 2, scaled.Data.Length);
            Assert.InRange(scaled.Data[32 * 24 * 3 + 100], MediaFixture.RampValue(20) - 4, MediaFixture.RampValue(20) + 4);
        }
    }

    [Fact]
    public void FrameImagesDecodeInOneCall()
    {
        var files = new[] { 14, 3, 3, 40 }.Select(n => Path.Combine(_m.RampFrameDir, $"img_{n:D5}.jpg")).ToArray();
        var frames = FfmpegTools.DecodeImages(files, 64, 48);
        Assert.Equal(4, frames.Count);
        int[] want = { 13, 2, 2, 39 };
        for (int i = 0; i < 4; i++)
            Assert.InRange(frames.Frame(i)[64 * 20 * 3 + 30], MediaFixture.RampValue(want[i]) - 5, MediaFixture.RampValue(want[i]) + 5);
    }

    private string VideoList(params (string Path, int Label)[] items) =>
        _m.WriteText($"lists/videos_{Guid.NewGuid():N}.txt", string.Join("\n", items.Select(i => $"{Path.GetRelativePath(_m.Root, i.Path)} {i.Label}")) + "\n");

    private string FrameList(params (string Dir, int Frames, int Label)[] items) =>
        _m.WriteText($"lists/frames_{Guid.NewGuid():N}.txt", string.Join("\n", items.Select(i => $"{Path.GetRelativePath(_m.Root, i.Dir)} {i.Frames} {i.Label}")) + "\n");

    [Fact]
    public void VideoListLoadsClipsThroughTheFullPipeline()
    {
        var list = VideoList((_m.RampMp4, 0), (_m.TestSrcMp4, 1), (_m.TestSrcAvi, 2), (_m.RampAvi, 0));
        var names = _m.WriteText("classes.txt", "ramp\ntestsrc\ntestsrc2\n");
        var train = new VideoListDataset(list, _m.Root, new ClipPipeline(new SegmentSampler(4), training: true, Small), names);
        Assert.Equal(4, train.Count);
        Assert.Equal(new[] { "ramp", "testsrc", "testsrc2" }, train.ClassNames);
        float lo = (0 - 0.485f) / 0.229f - 1e-3f, hi = (1 - 0.406f) / 0.225f + 1e-3f;
        for (int i = 0; i < train.Count; i++)
        {
            var s = train.Load(i, new Random(i));
            Assert.Equal(new[] { 4, 3, 40, 40 }, s.ClipShape);
            Assert.Equal(1, s.Views);
            Assert.All(s.Data, v => Assert.InRange(v, lo, hi));
            // deterministic for a given random state, different for another
            Assert.Equal(s.Data, train.Load(i, new Random(i)).Data);
        }
        Assert.NotEqual(train.Load(1, new Random(1)).Data, train.Load(1, new Random(2)).Data);

        // Test mode, no normalisation: TSN centres of 40 frames in 4 segments are frames 5, 15, 25, 35.
        var test = new VideoListDataset(list, _m.Root, new ClipPipeline(new SegmentSampler(4), false, Small with { Normalize = false }));
        var t = test.Load(0, new Random(0));
        Assert.Equal(new[] { 4, 3, 48, 48 }, t.ClipShape);
        int per = 3 * 48 * 48;
        int[] centres = { 5, 15, 25, 35 };
        for (int f = 0; f < 4; f++)
            Assert.Equal(MediaFixture.RampValue(centres[f]) / 255f, Mean(t.Data, f * per, per), 0.016f);
    }

    [Fact]
    public void FrameFolderListMatchesTheVideo()
    {
        var list = FrameList((_m.RampFrameDir, 40, 0), (_m.TestSrcFrameDir, 20, 1));
        var pipe = new ClipPipeline(new DenseSampler(4, 3, testClips: 2), false, Small with { Normalize = false });
        var frames = new RawFrameDataset(list, _m.Root, pipe);
        Assert.Equal(new[] { "0", "1" }, frames.ClassNames);
        var videos = new VideoListDataset(VideoList((_m.RampAvi, 0), (_m.TestSrcMp4, 1)), _m.Root, pipe);
        for (int i = 0; i < 2; i++)
        {
            var a = frames.Load(i, new Random(0));
            var b = videos.Load(i, new Random(0));
            Assert.Equal(2, a.Views);
            Assert.Equal(new[] { 4, 3, 48, 48 }, a.ClipShape);
            Assert.Equal(a.Label, b.Label);
            double diff = a.Data.Zip(b.Data, (x, y) => Math.Abs(x - y)).Average();
            Assert.True(diff < 0.03, $"frames vs video differ by {diff:0.000} on average");
        }
        // uniform clips: starts floor(i * 14.5 + 7.25) for 40 frames, clip span 12 -> frames 7,10,13,16 and 21,24,27,30
        var r = frames.Load(0, new Random(0));
        int per = 3 * 48 * 48;
        int[] expect = { 7, 10, 13, 16, 21, 24, 27, 30 };
        for (int k = 0; k < 8; k++)
            Assert.Equal(MediaFixture.RampValue(expect[k]) / 255f, Mean(r.Data, k * per, per), 0.016f);
    }

    [Fact]
    public void TrainingFramesFromFoldersHaveTheRightShapeAndFlip()
    {
        var list = FrameList((_m.TestSrcFrameDir, 20, 0));
        var opts = Small with { FlipProbability = 1.0, Normalize = false, ResizeInFfmpeg = false };
        var flipped = new RawFrameDataset(list, _m.Root, new ClipPipeline(new SegmentSampler(3), true, opts)).Load(0, new Random(5));
        var plain = new RawFrameDataset(list, _m.Root, new ClipPipeline(new SegmentSampler(3), true, opts with { HorizontalFlip = false })).Load(0, new Random(5));
        Assert.Equal(new[] { 3, 3, 40, 40 }, flipped.ClipShape);
        for (int row = 0; row < 3 * 3 * 40; row++)
            for (int x = 0; x < 40; x++)
                Assert.Equal(plain.Data[row * 40 + x], flipped.Data[row * 40 + 39 - x]);
    }

    [Fact]
    public void ClassFoldersAreSortedByName()
    {
        var root = Path.Combine(_m.Root, "ucf");
        Directory.CreateDirectory(Path.Combine(root, "Zebra"));
        Directory.CreateDirectory(Path.Combine(root, "Apple"));
        File.Copy(_m.RampMp4, Path.Combine(root, "Zebra", "v_Zebra_g01.mp4"), true);
        File.Copy(_m.TestSrcAvi, Path.Combine(root, "Apple", "v_Apple_g01.avi"), true);
        File.Copy(_m.TestSrcMp4, Path.Combine(root, "Apple", "v_Apple_g02.mp4"), true);
        File.WriteAllText(Path.Combine(root, "Apple", "notes.txt"), "not a video");
        var ds = new ClassFolderDataset(root, new ClipPipeline(new DenseSampler(4, 2), true, Small));
        Assert.Equal(new[] { "Apple", "Zebra" }, ds.ClassNames);
        Assert.Equal(new[] { 0, 0, 1 }, Enumerable.Range(0, ds.Count).Select(ds.GetLabel));
        Assert.EndsWith("v_Apple_g01.avi", ds.GetSource(0));
        var s = ds.Load(2, new Random(0));
        Assert.Equal(1, s.Label);
        Assert.Equal(new[] { 4, 3, 40, 40 }, s.ClipShape);
        // a class-name file fixes the order
        var named = new ClassFolderDataset(root, new ClipPipeline(new DenseSampler(4, 2), true, Small), _m.WriteText("ucf_classes.txt", "Zebra\nApple\n"));
        Assert.Equal(new[] { "Zebra", "Apple" }, named.ClassNames);
        Assert.Equal(new[] { 0, 1, 1 }, Enumerable.Range(0, named.Count).Select(named.GetLabel));
        Assert.EndsWith("v_Zebra_g01.mp4", named.GetSource(0));
    }

    [Fact]
    public void LoaderBatchesVideosWithWorkers()
    {
        var list = VideoList((_m.RampMp4, 0), (_m.TestSrcMp4, 1), (_m.TestSrcAvi, 2), (_m.RampAvi, 0), (_m.RampFaststart, 0));
        var ds = new VideoListDataset(list, _m.Root, new ClipPipeline(new SegmentSampler(4), true, Small));
        List<float[]>? first = null;
        foreach (var workers in new[] { 1, 3 })
        {
            var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 2, Workers = workers, Seed = 9 });
            var batches = loader.GetEpoch(0).ToList();
            Assert.Equal(new[] { 2, 2, 1 }, batches.Select(b => b.Count));
            Assert.Equal(new[] { 2, 4, 3, 40, 40 }, batches[0].Clips.Shape);
            var data = batches.Select(b => b.Clips.ToArray()).ToList();
            if (first == null) first = data;
            else for (int b = 0; b < data.Count; b++) Assert.Equal(first[b], data[b]);
        }
    }

    [Fact]
    public void BadVideosAreSkippedAndCountedOrFatalInStrictMode()
    {
        var missing = Path.Combine(_m.Root, "nope", "missing.mp4");
        var truncated = _m.Truncated(_m.RampMp4, "truncated.mp4", 0.5);          // moov atom cut off
        var cutFast = _m.Truncated(_m.RampFaststart, "truncated_fast.mp4", 0.4); // index intact, frames missing
        var garbage = _m.WriteText("garbage.mp4", "this is not a video at all\n" + new string('x', 5000));
        var bad = new[] { missing, truncated, cutFast, garbage };
        var list = VideoList((_m.RampMp4, 0), (missing, 1), (truncated, 0), (_m.TestSrcMp4, 1), (cutFast, 0), (garbage, 1), (_m.RampAvi, 0));
        // dense test clips over the whole video so that the cut faststart file runs out of frames
        var pipe = new ClipPipeline(new DenseSampler(8, 4, testClips: 1), false, Small);
        var ds = new VideoListDataset(list, _m.Root, pipe);

        foreach (var (b, i) in bad.Select((b, i) => (b, i)))
        {
            int index = new[] { 1, 2, 4, 5 }[i];
            var e = Assert.Throws<SampleLoadException>(() => ds.Load(index, new Random(0)));
            Assert.Equal(b, e.Path);
            Assert.Contains(b, e.Message);
            Assert.Equal(index, e.Index);
            _out.WriteLine(e.Message.Length > 200 ? e.Message[..200] : e.Message);
        }

        var log = new System.Collections.Concurrent.ConcurrentBag<BadSampleInfo>();
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 3, Workers = 2, Shuffle = false, OnBadSample = log.Add });
        var batches = loader.GetEpoch(0).ToList();
        Assert.Equal(7, batches.Sum(b => b.Count));
        Assert.All(batches.SelectMany(b => b.Indices), i => Assert.Contains(i, new[] { 0, 3, 6 }));
        Assert.Equal(bad.Order(), log.Select(l => l.Path).Order());
        Assert.True(loader.BadSamples >= 4);
        Assert.Equal(4, loader.BadSampleLog.Count);

        var strict = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 3, Workers = 2, Shuffle = false, Strict = true });
        var ex = Assert.Throws<SampleLoadException>(() => strict.GetEpoch(0).ToList());
        Assert.Contains(ex.Path, bad);
    }

    [Fact]
    public void MissingOrCorruptFramesAreReportedWithTheirPath()
    {
        var holey = _m.CopyDir(_m.RampFrameDir, "frames/holey");
        var gone = Path.Combine(holey, "img_00016.jpg");
        File.Delete(gone);
        var damaged = _m.CopyDir(_m.RampFrameDir, "frames/damaged");
        var broken = Path.Combine(damaged, "img_00026.jpg");
        File.WriteAllText(broken, "garbage, not a jpeg");
        var list = FrameList((_m.RampFrameDir, 40, 0), (holey, 40, 0), (damaged, 40, 0), (Path.Combine(_m.Root, "frames", "absent"), 40, 1));
        // test-time TSN: centres 5, 15, 25, 35 -> files 6, 16, 26, 36
        var ds = new RawFrameDataset(list, _m.Root, new ClipPipeline(new SegmentSampler(4), false, Small));

        Assert.Equal(gone, Assert.Throws<SampleLoadException>(() => ds.Load(1, new Random(0))).Path);
        var corrupt = Assert.Throws<SampleLoadException>(() => ds.Load(2, new Random(0)));
        Assert.Equal(broken, corrupt.Path);
        _out.WriteLine(corrupt.Message);
        Assert.Contains("absent", Assert.Throws<SampleLoadException>(() => ds.Load(3, new Random(0))).Path);

        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 2, BadSamples = BadSamplePolicy.Drop });
        var batch = Assert.Single(loader.GetEpoch(0));
        Assert.Equal(new[] { 0 }, batch.Indices);
        Assert.Equal(3, loader.SamplesDropped);

        var strict = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 0, Strict = true, Shuffle = false });
        Assert.Equal(gone, Assert.Throws<SampleLoadException>(() => strict.GetEpoch(0).ToList()).Path);
    }

    [Fact]
    public void ListParsingHandlesSpacesCommentsAndErrors()
    {
        var list = _m.WriteText("lists/parse.txt", "# comment\n\n\"a/b c.mp4\" 3\nx.avi 0\n");
        var entries = AnnotationFiles.ReadVideoList(list, "/data");
        Assert.Equal(new[] { Path.Combine("/data", "a/b c.mp4"), Path.Combine("/data", "x.avi") }, entries.Select(e => e.Path));
        Assert.Equal(new[] { 3, 0 }, entries.Select(e => e.Label));
        var frames = AnnotationFiles.ReadFrameList(_m.WriteText("lists/parse2.txt", "dir one 120 4\n"), "/r");
        Assert.Equal(new FrameFolderEntry(Path.Combine("/r", "dir one"), 120, 4), frames[0]);
        var badLine = _m.WriteText("lists/bad.txt", "x.avi zero\n");
        Assert.Contains("bad.txt:1", Assert.Throws<DatasetException>(() => AnnotationFiles.ReadVideoList(badLine)).Message);
        Assert.Equal("img_{0:D5}.jpg", FrameFolderSource.NormalizeTemplate("img_{:05}.jpg"));
        Assert.Equal("{0:D6}.png", FrameFolderSource.NormalizeTemplate("{:06d}.png"));
        Assert.Equal("img_{0:D5}.jpg", FrameFolderSource.NormalizeTemplate("img_{0:D5}.jpg"));
        // a label beyond the class-name file is an error
        var names = _m.WriteText("two.txt", "a\nb\n");
        Assert.Throws<DatasetException>(() => new VideoListDataset(list, "/data", new ClipPipeline(new SegmentSampler(2), true, Small), names));
    }

    [Fact]
    public void MissingFfmpegGivesOneClearMessage()
    {
        var e = new FfmpegNotFoundException("ffmpeg");
        Assert.Contains("apt-get install ffmpeg", e.Message);
        Assert.Contains("ffmpeg.org", e.Message);
        Assert.Contains(FfmpegTools.FfmpegEnvironmentVariable, e.Message);
        var run = Assert.Throws<FfmpegNotFoundException>(() =>
            FfmpegTools.Run("/nonexistent/ffmpeg", new[] { "-version" }, null, 0, TimeSpan.FromSeconds(5), default, "x"));
        Assert.Equal("ffmpeg", run.Tool);
    }

    [Fact]
    public void CancellationKillsTheDecoder()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var info = FfmpegTools.Probe(_m.RampMp4);
        Assert.ThrowsAny<OperationCanceledException>(() => FfmpegTools.DecodeVideo(_m.RampMp4, info, new[] { 1 }, 64, 48, null, cts.Token));
        // a timeout is a bad sample naming the file
        var slow = Assert.Throws<SampleLoadException>(() =>
            FfmpegTools.Run(FfmpegTools.FfmpegPath, new[] { "-hide_banner", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=rate=1", "-f", "null", "-" },
                null, 0, TimeSpan.FromMilliseconds(500), default, "slow-input"));
        Assert.Equal("slow-input", slow.Path);
        Assert.Contains("timed out", slow.Message);
    }

    [Fact]
    public void MeasureDecodingSpeed()
    {
        // 10 s of 320x240 at 25 fps: the usual UCF-101 geometry.
        var video = Path.Combine(_m.Root, "speed.mp4");
        if (!File.Exists(video))
            MediaFixture.Ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "10", "-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p", video);
        var frameDir = Path.Combine(_m.Root, "frames", "speed");
        if (!Directory.Exists(frameDir))
        {
            Directory.CreateDirectory(frameDir);
            MediaFixture.Ffmpeg("-i", video, "-q:v", "2", "-start_number", "1", Path.Combine(frameDir, "img_%05d.jpg"));
        }
        var list = VideoList((video, 0));
        var flist = FrameList((frameDir, 250, 0));
        var opts = new ClipTransformOptions();   // 256-340 short side, 224 crops
        foreach (var (name, make) in new (string, Func<ClipPipeline, IVideoDataset>)[]
                 {
                     ("video", p => new VideoListDataset(list, _m.Root, p)),
                     ("frames", p => new RawFrameDataset(flist, _m.Root, p)),
                 })
        {
            foreach (var (sname, sampler) in new (string, FrameSampler)[] { ("TSN 8 segments", new SegmentSampler(8)), ("dense 8x8", new DenseSampler(8, 8)) })
            {
                var ds = make(new ClipPipeline(sampler, true, opts));
                ds.Load(0, new Random(0));
                var sw = Stopwatch.StartNew();
                const int n = 2;
                for (int i = 0; i < n; i++) ds.Load(0, new Random(i + 1));
                _out.WriteLine($"{name,-6} {sname,-15}: {sw.Elapsed.TotalMilliseconds / n:0} ms per 8x224x224 training clip (320x240 source)");
            }
        }
    }
}
