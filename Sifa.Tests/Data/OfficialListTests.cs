using Sifa.Data;

namespace Sifa.Tests.Data;

/// <summary>The official SIFA data lists and frame folders, and the video-list line rules, on real files.</summary>
public class OfficialListTests : IClassFixture<MediaFixture>
{
    private readonly MediaFixture _m;

    public OfficialListTests(MediaFixture m) => _m = m;

    // Unnormalised [0, 1] values at the clip's own size, so a frame's mean gives back its ramp grey level.
    private static ClipPipeline Raw(FrameSampler s, bool training) => new(s, training, new ClipTransformOptions
    {
        ShortSideMin = 48, ShortSideMax = 48, CropSize = 48, TestShortSide = 48, TestCropSize = 48, HorizontalFlip = false, Normalize = false,
    });

    private static int[] RampFramesOf(VideoSample s)
    {
        int n = 3 * s.Height * s.Width;
        return Enumerable.Range(0, s.Views * s.Frames).Select(t => (int)Math.Round(s.Data.Skip(t * n).Take(n).Average() * 255 / 6)).ToArray();
    }

    // The ramp's frames as `{:05d}.jpg` numbered from `start`, in a folder whose name has a space.
    private string OfficialFolder(string name, int start)
    {
        var dir = Path.Combine(_m.Root, "official", name);
        if (Directory.Exists(dir)) return dir;
        Directory.CreateDirectory(dir);
        MediaFixture.Ffmpeg("-i", _m.RampAvi, "-q:v", "1", "-start_number", start.ToString(), Path.Combine(dir, "%05d.jpg"));
        return dir;
    }

    [Fact]
    public void TheOfficialRawframeListReadsFramesNamedFromOne()
    {
        OfficialFolder("clip a", 1);
        OfficialFolder("clip_b", 1);
        // official line format `dir num_frames label`, read from the right (the first folder name has a space)
        var list = _m.WriteText("official/ssv1_frame_val_list.txt", "clip a 40 1\nclip_b 40 0\n");
        var ds = new RawFrameDataset(list, null, Raw(new ConsecutiveSampler(4, 1, 2), false), filenameTemplate: "{:05d}.jpg", startIndex: 1);
        Assert.Equal(Path.Combine(_m.Root, "official", "clip a"), ds.Entries[0].Directory);
        Assert.Equal((40, 1), (ds.Entries[0].FrameCount, ds.Entries[0].Label));
        Assert.Equal(Path.Combine(_m.Root, "official", "clip a", "00001.jpg"), new FrameFolderSource(ds.Entries[0].Directory, 40, "{:05d}.jpg", 1).FramePath(0));
        // official test clips: clip i of 2 starts at (40 - 4) * i / 2
        Assert.Equal(new[] { 0, 1, 2, 3, 18, 19, 20, 21 }, RampFramesOf(ds.Load(0, new Random(0))));
    }

    [Fact]
    public void AZeroBasedFolderNeedsStartZero()
    {
        OfficialFolder("zero", 0);
        var list = _m.WriteText("official/zero.txt", "zero 40 0\n");
        var ds = new RawFrameDataset(list, null, Raw(new ConsecutiveSampler(3), false), filenameTemplate: "{:05d}.jpg", startIndex: 0);
        Assert.Equal(new[] { 0, 1, 2 }, RampFramesOf(ds.Load(0, new Random(0))));
        // numbered from 1 it would miss 00040.jpg at the end: the frame that is not there fails naming the file
        var wrong = new RawFrameDataset(list, null, Raw(new ConsecutiveSampler(3), false), filenameTemplate: "{:05d}.jpg", startIndex: 1);
        var ok = wrong.Load(0, new Random(0)); // frames 1..3 exist
        Assert.Equal(new[] { 1, 2, 3 }, RampFramesOf(ok));
        var last = new RawFrameDataset(_m.WriteText("official/zero-last.txt", "zero 40 0\n"), null,
            Raw(new ConsecutiveSampler(40), false), filenameTemplate: "{:05d}.jpg", startIndex: 1);
        Assert.Throws<SampleLoadException>(() => last.Load(0, new Random(0)));
    }

    [Fact]
    public void ThreeFieldVideoLinesArePathFramesLabel()
    {
        var list = _m.WriteText("lists/three.txt", $"{_m.RampMp4} 40 1\n{_m.TestSrcMp4} 3\nclip 12 3\n");
        var e = AnnotationFiles.ReadVideoList(list, "/d");
        Assert.Equal(new[] { _m.RampMp4, _m.TestSrcMp4, Path.Combine("/d", "clip") }, e.Select(x => x.Path));
        Assert.Equal(new[] { 1, 3, 3 }, e.Select(x => x.Label));
        // a real video from a three-field list loads
        var ds = new VideoListDataset(_m.WriteText("lists/three-real.txt", $"{_m.RampMp4} 40 1\n"), null, Raw(new ConsecutiveSampler(4), false));
        Assert.Equal(new[] { 0, 1, 2, 3 }, RampFramesOf(ds.Load(0, new Random(0))));
    }

    [Theory]
    [InlineData("a/b c.mp4 3\n", "three fields are `path num_frames label`")]
    [InlineData("my clip 2.mp4 3\n", "4 fields")]
    [InlineData("clip 12 x\n", "bad label 'x'")]
    [InlineData("x.mp4\n", "1 fields")]
    [InlineData("\"unclosed.mp4 3\n", "unclosed quote")]
    public void AmbiguousVideoLinesFailNamingTheLine(string text, string message)
    {
        var list = _m.WriteText($"lists/bad-{Math.Abs(text.GetHashCode())}.txt", "ok.mp4 1\n" + text);
        var e = Assert.Throws<DatasetException>(() => AnnotationFiles.ReadVideoList(list, "/d"));
        Assert.Contains($"{list}:2", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void PathsWithSpacesAreQuotedOrTabSeparated()
    {
        var list = _m.WriteText("lists/spaces.txt", "\"my clip 2.mp4\" 3\n\"a b.mp4\" 40 1\nsub dir/x y.mp4\t5\nz w.avi\t30\t2\n");
        var e = AnnotationFiles.ReadVideoList(list, "/d");
        Assert.Equal(new[] { "my clip 2.mp4", "a b.mp4", "sub dir/x y.mp4", "z w.avi" }.Select(p => Path.Combine("/d", p)), e.Select(x => x.Path));
        Assert.Equal(new[] { 3, 1, 5, 2 }, e.Select(x => x.Label));
        // frame lists take the quoted and tab forms too
        var f = AnnotationFiles.ReadFrameList(_m.WriteText("lists/frames-spaces.txt", "\"dir one\" 120 4\ndir two\t7\t1\ndir three 9 0\n"), "/r");
        Assert.Equal(new[] { new FrameFolderEntry("/r/dir one", 120, 4), new FrameFolderEntry("/r/dir two", 7, 1), new FrameFolderEntry("/r/dir three", 9, 0) }, f);
        Assert.Contains("lists/frames-bad.txt:1", Assert.Throws<DatasetException>(() =>
            AnnotationFiles.ReadFrameList(_m.WriteText("lists/frames-bad.txt", "dir 12\n"))).Message);
    }

    [Fact]
    public void ConsecutiveSamplingIsTheOfficialOne()
    {
        var s = new ConsecutiveSampler(4, 1, 3);
        Assert.Equal(new[] { 0, 1, 2, 3, 12, 13, 14, 15, 24, 25, 26, 27 }, s.Sample(40, false, new Random(0)));
        var seen = new HashSet<int>();
        var rng = new Random(1);
        for (int i = 0; i < 400; i++)
        {
            var idx = s.Sample(40, true, rng);
            Assert.Equal(4, idx.Length);
            Assert.Equal(Enumerable.Range(idx[0], 4), idx);
            seen.Add(idx[0]);
        }
        Assert.Equal(Enumerable.Range(0, 37), seen.Order()); // every start in [0, 40 - 4]
        Assert.Equal(new[] { 0, 2, 4, 1, 3 }, new ConsecutiveSampler(5, 2).Sample(5, false, new Random(0))); // short: loops
        Assert.IsType<ConsecutiveSampler>(FrameSamplers.Create(SamplingMode.Consecutive, 8, 1, 1));
        Assert.IsType<SegmentSampler>(FrameSamplers.Create(SamplingMode.Segments, 8, 1, 1));
        Assert.Equal(new[] { 2, 7, 12, 17 }, FrameSamplers.Create(SamplingMode.Segments, 4, 1, 1).Sample(20, false, new Random(0)));
        var dense = (DenseSampler)FrameSamplers.Create(SamplingMode.Dense, 8, 3, 2);
        Assert.Equal((8, 3, 2), (dense.ClipLength, dense.FrameInterval, dense.TestClips));
        Assert.Equal(2, FrameSamplers.DefaultInterval(SamplingMode.Dense));
        Assert.Equal(1, FrameSamplers.DefaultInterval(SamplingMode.Consecutive));
    }
}
