using Sifa.Cli;
using Sifa.Data;
using Sifa.Models;
using Sifa.Tests.Data;
using Sifa.Training;

namespace Sifa.Tests.Cli;

/// <summary>
/// End to end: a checkpoint from a tiny in-process <c>sifa train</c> describes itself, so predict, eval and info need
/// only the checkpoint; a flag that disagrees with it is refused naming both values; an old checkpoint still works with
/// the flags. Console redirection is process-wide, hence the collection.
/// </summary>
[Collection(GlobalStateCollection.Name)]
public class SelfDescribingCheckpointTests : IClassFixture<MediaFixture>
{
    private readonly MediaFixture _m;
    private readonly string _dir;

    public SelfDescribingCheckpointTests(MediaFixture media)
    {
        _m = media;
        _dir = Path.Combine(media.Root, "selfdescribing");
        Directory.CreateDirectory(_dir);
    }

    internal static (int Code, string Out, string Err) Run(params string[] args) => Sifa.Tests.Cli.CliRunner.Run(args);

    private static readonly object Gate = new();

    // One tiny run (4 frames of 16², 1 epoch) shared by the tests.
    private string Trained()
    {
        var ck = Path.Combine(_dir, "run", CheckpointStore.CheckpointFile);
        lock (Gate)
        {
            if (File.Exists(ck)) return ck;
            var (code, _, err) = Run("train", "--frames", "4", "--size", "16", "--train-size", "16", "--val-size", "8", "--batch", "8",
                "--epochs", "1", "--workers", "0", "--out", Path.Combine(_dir, "run"), "--quiet");
            Assert.True(code == 0, err);
        }
        return ck;
    }

    [Fact]
    public void PredictNeedsOnlyTheCheckpoint()
    {
        var (code, stdout, err) = Run("predict", _m.TestSrcMp4, "--checkpoint", Trained());
        Assert.True(code == 0, err);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, l => Assert.Contains(l.Split("  ")[1], Sifa.Data.SyntheticMotionDataset.MotionClassNames));
    }

    [Fact]
    public void AFlagThatDisagreesIsRefusedNamingBothValues()
    {
        var (code, _, err) = Run("predict", _m.TestSrcMp4, "--checkpoint", Trained(), "--frames", "8");
        Assert.Equal(SifaCli.Usage, code);
        Assert.Contains("--frames 8", err);
        Assert.Contains("--frames 4", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var (code2, _, err2) = Run("predict", _m.TestSrcMp4, "--checkpoint", Trained(), "--frames", "8", "--override-geometry");
        Assert.True(code2 == 0, err2);
        var (code3, _, err3) = Run("eval", "--checkpoint", Trained(), "--model", "c2d-tiny");
        Assert.Equal(SifaCli.Usage, code3);
        Assert.Contains("c2d-tiny", err3);
        Assert.Contains("sifa-tiny", err3);
    }

    [Fact]
    public void EvalAndInfoNeedOnlyTheCheckpoint()
    {
        var (code, stdout, err) = Run("eval", "--checkpoint", Trained(), "--val-size", "8", "--workers", "0");
        Assert.True(code == 0, err);
        Assert.Contains("8 samples, 1x1 views, 4x16x16: top1", stdout);
        (code, stdout, err) = Run("info", Trained());
        Assert.True(code == 0, err);
        Assert.Contains("sifa-tiny, 546,776 parameters", stdout.Replace("\u00a0", ","));
        Assert.Contains("4 frames every 1, 16x16", stdout);
        Assert.Contains("command      sifa train --frames 4", stdout);
        Assert.Contains("epoch        1", stdout);
    }

    [Fact]
    public void LibraryUsersLoadModelAndPreprocessingInOneCall()
    {
        var m = Checkpoint.LoadForInference(Trained());
        Assert.Equal("sifa-tiny", m.Record.Model.Preset);
        Assert.Equal(Sifa.Data.SyntheticMotionDataset.MotionClassNames, m.ClassNames);
        Assert.Equal((4, 16, 1), (m.Clip.Frames, m.Clip.Size, m.Clip.Interval));
        Assert.Equal(1, m.Record.Epoch);
        Assert.NotNull(m.Record.Metrics);
        Assert.False(m.Model.IsTraining);
        var p = m.Predict(_m.TestSrcMp4);
        Assert.Equal(8, p.Length);
        Assert.InRange(p.Sum(), 0.999f, 1.001f);
    }

    [Fact]
    public void AnOldCheckpointLoadsWithTheFlagsAndANotice()
    {
        var old = Path.Combine(_dir, "old.safetensors");
        Presets.Create("sifa-tiny", 2, null, 16).Save(old, new Dictionary<string, string> { ["epoch"] = "3" });
        var classes = _m.WriteText("selfdescribing/ab.txt", "a\nb\n");
        var (code, stdout, err) = Run("predict", _m.TestSrcMp4, "--checkpoint", old, "--classes", classes, "--frames", "4", "--size", "16");
        Assert.True(code == 0, err);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("note: ", lines[0]);
        Assert.Equal(3, lines.Length); // the notice and both classes
        (code, _, err) = Run("predict", _m.TestSrcMp4, "--checkpoint", old);
        Assert.Equal(SifaCli.Usage, code);
        Assert.Contains("--classes is required", err);
        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadForInference(old));
    }

    [Fact]
    public void TheRecordRoundTripsThroughMetadata()
    {
        var r = new CheckpointRecord
        {
            Model = new ModelSpec { Preset = "sifa-tiny", NumClasses = 2, Image = 16, SifaK = 5 }, ClassNames = ["x", "y"],
            Clip = new ClipGeometry(8, 2, 16, 18, 10, 3), Command = "sifa train 'a b'", Epoch = 4,
            Metrics = new EpochMetrics { Epoch = 4, ValTop1 = 0.5, ValLoss = double.NaN },
        };
        var back = CheckpointRecord.FromMetadata(r.ToMetadata(), "mem")!;
        Assert.Equal(r.Model, back.Model);
        Assert.Equal(r.ClassNames, back.ClassNames);
        Assert.Equal(r.Clip, back.Clip);
        Assert.Equal(r.Command, back.Command);
        Assert.Equal(4, back.Epoch);
        Assert.True(double.IsNaN(back.Metrics!.ValLoss));
        var bad = r.ToMetadata();
        bad[CheckpointRecord.ClipKey] = "{\"frames\": \"eight\"}";
        var e = Assert.Throws<InvalidDataException>(() => CheckpointRecord.FromMetadata(bad, "mem"));
        Assert.Contains("'clip'", e.Message);
    }

    [Fact]
    public void TheFrameSamplingIsRecordedAndUsedAtTestTime()
    {
        var r = new CheckpointRecord
        {
            Model = new ModelSpec { Preset = "sifa-tiny", NumClasses = 2, Image = 16 }, ClassNames = ["x", "y"],
            Clip = new ClipGeometry(8, 1, 16, 16, 2, 1, SamplingMode.Consecutive), Epoch = 1,
        };
        var meta = r.ToMetadata();
        Assert.Contains("\"sampling\":\"consecutive\"", meta[CheckpointRecord.ClipKey]);
        var back = CheckpointRecord.FromMetadata(meta, "mem")!;
        Assert.IsType<ConsecutiveSampler>(back.Clip.TestPipeline(back.Normalization).Sampler);
        // A record written before the field existed means the dense sampling the CLI always used then.
        meta[CheckpointRecord.ClipKey] = "{\"frames\":8,\"interval\":2,\"size\":16,\"test_short_side\":16}";
        Assert.IsType<DenseSampler>(CheckpointRecord.FromMetadata(meta, "mem")!.Clip.TestPipeline(back.Normalization).Sampler);
    }

    [Fact]
    public void ExplainWritesThePicturesForAVideoAndForSyntheticMotion()
    {
        foreach (var (name, input) in new[] { ("video", new[] { _m.TestSrcMp4 }), ("synthetic", new[] { "--synthetic", "move_right" }) })
        {
            var dir = Path.Combine(_dir, "explain-" + name);
            var (code, stdout, err) = Run(["explain", .. input, "--checkpoint", Trained(), "--out", dir, "--query", "8,8"]);
            Assert.True(code == 0, err);
            Assert.Contains("block layer2.0.sifa: 2x2 features", stdout);
            foreach (var f in new[] { "frame_t.png", "attention.png", "saliency.png", "gradcam.png", "overview.png", "contact_sheet.png" })
                Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(Path.Combine(dir, f))[..4]);
            var arrays = Sifa.Tensors.IO.SafeTensors.Read(Path.Combine(dir, "explain.safetensors"));
            Assert.Equal(new[] { 1, 9, 2 }, arrays.Tensors["positions"].Tensor.Shape);
            Assert.Equal("layer2.0.sifa", arrays.Metadata["block"]);
        }
        var (c2, _, e2) = Run("explain", "--synthetic", "grow", "--checkpoint", Trained(), "--out", Path.Combine(_dir, "x"), "--block", "layer9.sifa");
        Assert.Equal(SifaCli.Usage, c2);
        Assert.Contains("layer2.0.sifa, layer3.0.sifa, layer4.0.sifa", e2);
    }
}
