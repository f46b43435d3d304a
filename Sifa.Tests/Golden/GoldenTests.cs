namespace Sifa.Tests.Golden;

/// <summary>
/// PyTorch parity: one test case per <c>.safetensors</c> file of the golden folder (<c>$SIFA_GOLDEN_DIR</c>, else
/// <c>../shared/golden</c> beside the repository) and device, dispatched on the file's <c>kind</c> metadata. Whole-model
/// cases run on the CPU only in CI (on ILGPU's CPU accelerator they take minutes; the GPU check runs a model step).
/// </summary>
[Trait("Category", "Golden")]
public class GoldenTests
{
    /// <summary>Every golden file name.</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(GoldenFolder.Path))
            throw new DirectoryNotFoundException($"golden folder not found: {GoldenFolder.Path} (set SIFA_GOLDEN_DIR)");
        foreach (var f in Directory.GetFiles(GoldenFolder.Path, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    /// <summary>Every golden file on every device.</summary>
    public static TheoryData<string, string> FilesOnDevices()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Available())
            foreach (string f in Files()) data.Add(f, d.ToString());
        return data;
    }

    /// <summary>Runs one golden case on one device.</summary>
    /// <param name="file">File name inside the golden folder.</param>
    /// <param name="device">The device.</param>
    [SkippableTheory]
    [MemberData(nameof(FilesOnDevices))]
    public void Case(string file, string device)
    {
        var c = new GoldenCase(Path.Combine(GoldenFolder.Path, file)) { Device = TestDevices.Of(device) };
        Skip.If(c.Device != Sifa.Tensors.Device.Cpu && c.Kind == "model", $"{c.Name}: whole-model golden cases run on the CPU only");
        GoldenRunner.Run(c);
    }
}

/// <summary>Dispatches a golden case on its kind.</summary>
public static class GoldenRunner
{
    /// <summary>Runs a case through the runner of its kind; a kind no runner knows fails (a new kind must get one).</summary>
    /// <param name="c">The case.</param>
    public static void Run(GoldenCase c)
    {
        bool ran = SingleOpCases.TryRun(c.Kind, c) || SifaCases.TryRun(c.Kind, c) || ModuleCases.TryRun(c.Kind, c) || ModelCases.TryRun(c.Kind, c);
        if (!ran) Assert.Fail($"{c.Name}: no golden runner for kind '{c.Kind}' ({c.Path})");
    }
}
