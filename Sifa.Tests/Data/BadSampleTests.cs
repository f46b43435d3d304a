using System.Diagnostics;
using Sifa.Data;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Tests.Data;

/// <summary>
/// Bad samples in real lists (ffmpeg-made videos beside missing, empty, truncated, garbage, FIFO, device and folder
/// entries) are reported once each, counted, never replaced in evaluation, and fatal past a limit.
/// </summary>
public class BadSampleTests : IClassFixture<MediaFixture>
{
    private readonly MediaFixture _m;

    public BadSampleTests(MediaFixture media) => _m = media;

    private static ClipPipeline Pipe(bool training) => new(new DenseSampler(4, 2), training, new ClipTransformOptions
    {
        ShortSideMin = 16, ShortSideMax = 20, CropSize = 16, TestShortSide = 16, TestCropSize = 16, HorizontalFlip = false,
    });

    private static TrainerOptions Opts(string dir, int epochs) => new()
    {
        Epochs = epochs, BatchSize = 7, Lr = 1e-3, WarmupSteps = 0, Seed = 1, Workers = 0, OutDir = dir, Progress = false,
    };

    private static string Tmp() => Directory.CreateTempSubdirectory("sifa-bad-").FullName;

    private string Fifo(string name)
    {
        var p = Path.Combine(_m.Root, name);
        if (File.Exists(p)) return p;
        using var mk = Process.Start("mkfifo", p);
        mk.WaitForExit();
        Assert.Equal(0, mk.ExitCode);
        return p;
    }

    /// <summary>Seven good videos and seven unreadable entries of every kind, in a 14-line list.</summary>
    private (string List, string[] Bad) MixedList(string name)
    {
        var good = new[] { _m.RampMp4, _m.RampAvi, _m.RampFaststart, _m.TestSrcMp4, _m.TestSrcAvi, _m.RampMp4, _m.TestSrcMp4 };
        var bad = new[]
        {
            Path.Combine(_m.Root, "missing.mp4"),
            _m.WriteText("empty.mp4", ""),
            _m.Truncated(_m.RampMp4, "truncated.mp4", 0.3),
            _m.WriteText("garbage.mp4", "this is not a video at all"),
            Fifo("fifo.mp4"),
            "/dev/zero",
            Path.Combine(_m.Root, "frames"),
        };
        var lines = good.Zip(bad).SelectMany((p, i) => new[] { $"{p.First} {i % 2}", $"{p.Second} {(i + 1) % 2}" });
        return (_m.WriteText(name, string.Join('\n', lines) + "\n"), bad);
    }

    [Fact]
    public void BadSamplesFailTheRunPastTheDefaultLimit()
    {
        var (list, _) = MixedList("lists/mixed-a.txt");
        var ds = new VideoListDataset(list, null, Pipe(true));
        Assert.Equal(14, ds.Count);
        var model = Presets.Create("sifa-tiny", ds.ClassNames.Count, null, 16, new Generator(1));
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<DatasetException>(() => new Trainer(model, ds, null, Opts(Tmp(), 1), TextWriter.Null).Run());
        Assert.Contains("training samples failed to load, more than the 0 allowed", e.Message);
        Assert.Contains("first: ", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "a FIFO or device must be refused at once, not after a probe timeout");
    }

    [Fact]
    public void EachBadSampleIsReportedOnceCountedPerEpochAndEvaluationSkipsThem()
    {
        var (list, bad) = MixedList("lists/mixed-b.txt");
        var train = new VideoListDataset(list, null, Pipe(true));
        var val = new VideoListDataset(list, null, Pipe(false), classNames: train.ClassNames);
        var log = new StringWriter();
        string dir = Tmp();
        var model = Presets.Create("sifa-tiny", train.ClassNames.Count, null, 16, new Generator(1));
        var h = new Trainer(model, train, val, Opts(dir, 2) with { MaxBadSamples = 7 }, log).Run();

        Assert.All(h, m => Assert.Equal((7, 7), (m.TrainBadSamples, m.ValBadSamples)));
        var text = log.ToString();
        foreach (var b in bad)
        {
            Assert.Equal(1, Lines(text, "bad training", b));
            Assert.Equal(1, Lines(text, "bad validation", b));
        }
        Assert.Contains("7 bad training samples, 7 bad validation samples", text);
        var metrics = File.ReadAllLines(Path.Combine(dir, CheckpointStore.MetricsFile));
        Assert.All(metrics, l => Assert.Contains("\"train_bad_samples\":7", l));
        Assert.All(metrics, l => Assert.Contains("\"val_bad_samples\":7", l));

        // evaluation counts the seven readable videos once each and reports the seven skipped
        var r = Evaluator.Evaluate(model, val, 4, 2);
        Assert.Equal((7, 7), (r.Samples, r.Skipped));
    }

    private static int Lines(string text, string prefix, string path) =>
        text.Split('\n').Count(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.TrimEnd().EndsWith(": " + path, StringComparison.Ordinal));

    [Fact]
    public void StrictModeFailsOnTheFirstBadSample()
    {
        var (list, bad) = MixedList("lists/mixed-c.txt");
        var ds = new VideoListDataset(list, null, Pipe(true));
        var model = Presets.Create("sifa-tiny", ds.ClassNames.Count, null, 16, new Generator(1));
        var e = Assert.Throws<SampleLoadException>(() => new Trainer(model, ds, null, Opts(Tmp(), 1) with { StrictData = true, MaxBadSamples = 100 }, TextWriter.Null).Run());
        Assert.Contains(e.Path, bad);
    }

    [Fact]
    public void AnEpochWithNoStepFailsInsteadOfWritingACheckpoint()
    {
        var list = _m.WriteText("lists/all-bad.txt", $"{Path.Combine(_m.Root, "nope1.mp4")} 0\n{Path.Combine(_m.Root, "nope2.mp4")} 1\n");
        var ds = new VideoListDataset(list, null, Pipe(true));
        string dir = Tmp();
        var e = Assert.Throws<DatasetException>(() => new Trainer(Presets.Create("sifa-tiny", 2, null, 16), ds, null, Opts(dir, 1) with { MaxBadSamples = 100 }, TextWriter.Null).Run());
        Assert.Contains("no training step ran", e.Message);
        Assert.Contains("video file not found", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, CheckpointStore.CheckpointFile)));
    }

    [Fact]
    public void TheOfficialThreeColumnListIsRead()
    {
        var list = _m.WriteText("lists/official.txt", $"{_m.RampMp4} 40 1\n{_m.TestSrcMp4} 20 0\n");
        var ds = new VideoListDataset(list, null, Pipe(false));
        Assert.Equal(new[] { _m.RampMp4, _m.TestSrcMp4 }, ds.Entries.Select(e => e.Path));
        Assert.Equal(new[] { 1, 0 }, ds.Entries.Select(e => e.Label));
        Assert.Equal(4, ds.Load(0, new Random(0)).Frames);
        // a (quoted) path with spaces and a two-column line keep working
        var two = AnnotationFiles.ReadVideoList(_m.WriteText("lists/two.txt", "\"my clip 2.mp4\" 3\n"), "/d");
        Assert.Equal((Path.Combine("/d", "my clip 2.mp4"), 3), (two[0].Path, two[0].Label));
    }

    [Fact]
    public void FifosAndDevicesAreRefusedBeforeProbing()
    {
        var sw = Stopwatch.StartNew();
        var fifo = Assert.Throws<SampleLoadException>(() => FfmpegTools.Probe(Fifo("probe-fifo.mp4")));
        Assert.Contains("FIFO", fifo.Message);
        Assert.Contains("character device", Assert.Throws<SampleLoadException>(() => FfmpegTools.Probe("/dev/zero")).Message);
        Assert.Contains("empty", Assert.Throws<SampleLoadException>(() => FfmpegTools.Probe(_m.WriteText("zero.mp4", ""))).Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
        // a list file that is a FIFO is refused too, instead of blocking the read
        Assert.Contains("FIFO", Assert.Throws<DatasetException>(() => AnnotationFiles.ReadVideoList(Fifo("list-fifo.txt"))).Message);
    }

    [Fact]
    public void ListProblemsNameTheListAndLine()
    {
        var empty = _m.WriteText("lists/empty.txt", "# nothing here\n\n");
        Assert.Contains("empty.txt", Assert.Throws<DatasetException>(() => new VideoListDataset(empty, null, Pipe(true))).Message);
        var train = new VideoListDataset(_m.WriteText("lists/t.txt", $"{_m.RampMp4} 0\n{_m.TestSrcMp4} 1\n"), null, Pipe(true));
        var valList = _m.WriteText("lists/v.txt", $"{_m.RampMp4} 0\n{_m.TestSrcMp4} 5\n");
        var e = Assert.Throws<DatasetException>(() => new VideoListDataset(valList, null, Pipe(false), classNames: train.ClassNames));
        Assert.Contains("v.txt:2: label 5", e.Message);
        Assert.Contains("2 classes", e.Message);
        // the trainer checks labels against the model before any work, too
        var val = new VideoListDataset(valList, null, Pipe(false));
        var te = Assert.Throws<DatasetException>(() => new Trainer(Presets.Create("sifa-tiny", 2, null, 16), train, val, Opts(Tmp(), 1), TextWriter.Null));
        Assert.Contains("label 5", te.Message);
        Assert.Contains(_m.TestSrcMp4, te.Message);
        var emptyDir = Directory.CreateDirectory(Path.Combine(_m.Root, "nofiles", "a")).Parent!.FullName;
        Assert.Contains("no video files", Assert.Throws<DatasetException>(() => new ClassFolderDataset(emptyDir, Pipe(true))).Message);
    }
}
