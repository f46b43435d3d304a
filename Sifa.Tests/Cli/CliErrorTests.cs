using Sifa.Cli;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Tests.Data;
using Xunit.Abstractions;

namespace Sifa.Tests.Cli;

/// <summary>
/// Bad command lines run through the CLI's entry point in-process: each ends with exit code 2 (usage) or 1 (runtime),
/// exactly one line on stderr naming the problem, and no stack trace. Console redirection is process-wide, hence the
/// collection that runs apart from the others.
/// </summary>
[Collection(GlobalStateCollection.Name)]
public class CliErrorTests : IClassFixture<MediaFixture>
{
    private readonly MediaFixture _m;
    private readonly string _dir;
    private readonly ITestOutputHelper _out;

    public CliErrorTests(MediaFixture media, ITestOutputHelper output)
    {
        _m = media;
        _out = output;
        _dir = Path.Combine(media.Root, "cli");
        Directory.CreateDirectory(_dir);
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => Sifa.Tests.Cli.CliRunner.Run(args);

    private string File(string name, string text) => _m.WriteText(Path.Combine("cli", name), text);

    private string NanCheckpoint()
    {
        var p = Path.Combine(_dir, "nan.safetensors");
        if (System.IO.File.Exists(p)) return p;
        var m = Presets.Create("sifa-tiny", 8, null, 16);
        m.StateDict()["conv1.weight"].Tensor.Fill_(float.NaN);
        m.Save(p);
        return p;
    }

    private string GoodCheckpoint(int classes = 2)
    {
        var p = Path.Combine(_dir, $"good{classes}.safetensors");
        if (!System.IO.File.Exists(p)) Presets.Create("sifa-tiny", classes, null, 16).Save(p);
        return p;
    }

    /// <summary>The table: (expected code, the substring the one line must hold, the command line).</summary>
    private IEnumerable<(int Code, string Says, string[] Args)> Table()
    {
        var fast = new[] { "--frames", "4", "--size", "16", "--train-size", "16", "--val-size", "8", "--batch", "8", "--epochs", "1", "--workers", "0" };
        string Out(string n) => Path.Combine(_dir, "runs", n);
        // The fast settings, with those the case gives replaced (an option may be given only once).
        string[] Train(string name, params string[] extra)
        {
            var given = extra.Where(a => a.StartsWith("--", StringComparison.Ordinal)).ToHashSet();
            var kept = fast.Chunk(2).Where(p => !given.Contains(p[0])).SelectMany(p => p);
            return ["train", .. kept, "--out", Out(name), .. extra];
        }
        var classes = File("classes.txt", "a\nb\n");
        var good = $"{_m.RampMp4} 0\n{_m.TestSrcMp4} 1\n";
        var trainList = File("train.txt", good);
        var badLabelVal = File("val-badlabel.txt", $"{_m.RampMp4} 0\n{_m.TestSrcMp4} 7\n");
        var emptyList = File("empty.txt", "# no entries\n");
        var allBad = File("allbad.txt", $"{Path.Combine(_dir, "gone1.mp4")} 0\n{Path.Combine(_dir, "gone2.mp4")} 1\n");
        var badLine = File("badline.txt", "clip.mp4 zero\n");
        var aFile = File("i-am-a-file", "x");

        // usage errors (2): parsing
        yield return (2, "nosuch", ["nosuch"]);
        yield return (2, "--bogus", ["train", "--bogus"]);
        yield return (2, "--lr", ["train", "--lr", "fast"]);
        yield return (2, "--epochs", ["train", "--epochs"]);
        yield return (2, "--checkpoint", ["eval"]);
        yield return (2, "video", ["predict", "--checkpoint", "x", "--classes", classes]);
        yield return (2, "--batch", ["train", "--batch", "1.5"]);
        // usage errors (2): values refused up front
        yield return (2, "--lr", Train("lr-inf", "--lr", "Infinity"));
        yield return (2, "--lr", Train("lr-nan", "--lr", "NaN"));
        yield return (2, "--lr", Train("lr-zero", "--lr", "0"));
        yield return (2, "--lr", Train("lr-neg", "--lr", "-1e-3"));
        yield return (2, "--clip-grad", Train("clip-nan", "--clip-grad", "NaN"));
        yield return (2, "--clip-grad", Train("clip-neg", "--clip-grad", "-1"));
        yield return (2, "--weight-decay", Train("wd-nan", "--weight-decay", "NaN"));
        yield return (2, "--label-smoothing", Train("ls", "--label-smoothing", "2"));
        yield return (2, "--val-size", Train("vs0", "--val-size", "0"));
        yield return (2, "--train-size", Train("ts0", "--train-size", "0"));
        yield return (2, "--frames", Train("fr-big", "--frames", "100000"));
        yield return (2, "--frames", Train("fr-0", "--frames", "0"));
        yield return (2, "--size", Train("sz-0", "--size", "0"));
        yield return (2, "--batch", Train("b0", "--batch", "0"));
        yield return (2, "--epochs", Train("e0", "--epochs", "0"));
        yield return (2, "--workers", Train("w-neg", "--workers", "-1"));
        yield return (2, "--warmup-steps", Train("wu", "--warmup-steps", "-5"));
        yield return (2, "--max-bad-samples", Train("mbs", "--max-bad-samples", "-1"));
        yield return (2, "--on-nan", Train("onnan", "--on-nan", "maybe"));
        yield return (2, "is unknown", Train("model", "--model", "resnet-9000"));
        yield return (2, "optimizer", Train("opt", "--optimizer", "rmsprop"));
        yield return (2, "--data-format", Train("fmt", "--data-format", "tar"));
        yield return (2, "is a file", ["train", .. fast, "--out", aFile]);
        yield return (2, "cannot be written", ["train", .. fast, "--out", "/proc/sifa-cannot-write-here"]);
        yield return (2, "--model swin-t cannot take", Train("swin", "--model", "swin-t", "--size", "100"));
        yield return (2, "--frames 6 is not a multiple", Train("stride", "--model", "sifa-r50", "--frames", "6", "--size", "32"));
        yield return (2, "--val-data is required", Train("noval", "--data", trainList));
        yield return (2, "--views", ["eval", "--checkpoint", GoodCheckpoint(), "--views", "2x2"]);
        yield return (2, "--size", ["flops", "--size", "0"]);
        yield return (2, "--frames", ["flops", "--frames", "-3"]);
        yield return (2, "--classes", ["flops", "--classes", "0", "--model", "sifa-tiny", "--size", "32", "--frames", "4"]);
        yield return (2, "unknown", ["flops", "--model", "vgg"]);
        yield return (2, "device", Train("dev", "--device", "tpu"));
        yield return (2, "--m", ["bench", "gemm", "--m", "0"]);
        // runtime failures (1)
        yield return (1, "val-badlabel.txt:2: label 7", Train("badlabel", "--data", trainList, "--val-data", badLabelVal));
        yield return (1, "empty.txt", Train("empty", "--data", emptyList, "--val-data", trainList));
        yield return (1, "badline.txt:1", Train("badline", "--data", badLine, "--val-data", trainList));
        yield return (1, "list file not found", Train("nolist", "--data", Path.Combine(_dir, "nope.txt"), "--val-data", trainList));
        yield return (1, "samples failed to load", Train("allbad", "--data", allBad, "--val-data", trainList));
        yield return (1, "no training step ran", Train("allbad2", "--data", allBad, "--val-data", trainList, "--max-bad-samples", "10"));
        yield return (1, "video file not found", Train("strict", "--data", allBad, "--val-data", trainList, "--strict-data"));
        yield return (1, "first parameter whose gradient is not finite", Train("diverge", "--lr", "1e6", "--clip-grad", "0", "--warmup-steps", "0", "--epochs", "3", "--train-size", "64"));
        yield return (1, "'conv1.weight'", ["eval", "--checkpoint", NanCheckpoint(), "--frames", "4", "--size", "16", "--val-size", "8", "--workers", "0"]);
        yield return (1, "'conv1.weight'", ["predict", "--checkpoint", NanCheckpoint(), "--classes", File("eight.txt", string.Join('\n', Enumerable.Range(0, 8)) + "\n"), "--frames", "4", "--size", "16", _m.RampMp4]);
        yield return (1, "no such file", ["eval", "--checkpoint", Path.Combine(_dir, "missing.safetensors"), "--frames", "4", "--size", "16"]);
        yield return (1, "garbage", ["eval", "--checkpoint", File("garbage.safetensors", "garbage, not a checkpoint"), "--frames", "4", "--size", "16"]);
        yield return (1, "shape", ["eval", "--checkpoint", GoodCheckpoint(5), "--frames", "4", "--size", "16", "--val-size", "8"]);
        yield return (1, "class-name file not found", ["predict", "--checkpoint", GoodCheckpoint(), "--classes", Path.Combine(_dir, "nope-classes.txt"), _m.RampMp4]);
        yield return (1, "not found", ["predict", "--checkpoint", GoodCheckpoint(), "--classes", classes, "--frames", "4", "--size", "16", Path.Combine(_dir, "novideo.mp4")]);
        yield return (1, "FIFO", ["predict", "--checkpoint", GoodCheckpoint(), "--classes", classes, "--frames", "4", "--size", "16", Fifo()]);
        yield return (1, "character device", ["predict", "--checkpoint", GoodCheckpoint(), "--classes", classes, "--frames", "4", "--size", "16", "/dev/zero"]);
        yield return (1, "", ["convert", Path.Combine(_dir, "missing.pth"), Path.Combine(_dir, "out.safetensors")]);
        if (!Backends.TryGet(Device.Cuda, out _)) yield return (1, "cuda", Train("cuda", "--device", "cuda"));
    }

    private string Fifo()
    {
        var p = Path.Combine(_dir, "video.fifo");
        if (!System.IO.File.Exists(p))
        {
            using var mk = System.Diagnostics.Process.Start("mkfifo", p);
            mk.WaitForExit();
        }
        return p;
    }

    [Fact]
    public void EveryBadCommandLineEndsInOneLineAndTheRightExitCode()
    {
        var failures = new List<string>();
        int n = 0;
        foreach (var (code, says, args) in Table())
        {
            n++;
            var (got, stdout, stderr) = Run(args);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string cmd = string.Join(' ', args);
            _out.WriteLine($"[{got}] {cmd}\n      {stderr.Trim()}");
            if (got != code) failures.Add($"exit {got}, expected {code}: {cmd}\n    {stderr.Trim()}");
            else if (lines.Length != 1) failures.Add($"{lines.Length} stderr lines: {cmd}\n    {stderr.Trim()}");
            else if (!lines[0].StartsWith("sifa: ", StringComparison.Ordinal) || !lines[0].Contains(says, StringComparison.OrdinalIgnoreCase))
                failures.Add($"line does not say '{says}': {cmd}\n    {lines[0]}");
            if ((stdout + stderr).Contains("   at ", StringComparison.Ordinal)) failures.Add($"stack trace: {cmd}");
        }
        Assert.True(n >= 40, $"only {n} command lines");
        Assert.True(failures.Count == 0, $"{failures.Count} of {n} command lines misbehaved:\n" + string.Join('\n', failures));
    }

    [Fact]
    public void VerbosePrintsTheStackTraceToo()
    {
        var (code, _, err) = Run("eval", "--checkpoint", Path.Combine(_dir, "missing.safetensors"), "--frames", "4", "--size", "16", "--verbose");
        Assert.Equal(1, code);
        Assert.Contains("   at ", err);
    }
}
