using System.CommandLine;
using Sifa.Models;

namespace Sifa.Cli.Commands;

/// <summary>
/// The model options of <c>train</c>, <c>eval</c>, <c>predict</c>, <c>flops</c> and <c>bench step</c>: <c>--model</c>
/// (a preset name, a JSON model config file — a <see cref="ModelSpec"/> as <c>sifa models NAME</c> prints it — or
/// <c>list</c>) and the overrides of paper Table 1 (<c>--sifa-k</c>, <c>--sifa-stages</c>, <c>--sifa-offsets</c>,
/// <c>--sifa-last-frame</c>, <c>--sifa-variant</c>, <c>--temporal-block</c>, <c>--stem-stride</c>). A flag given with a
/// config file overrides the file's value; the class count and image size always come from the command (the data,
/// <c>--classes</c>, <c>--size</c>). A bad value fails in one line naming the option or the file's field.
/// </summary>
internal sealed class ModelOptions
{
    /// <summary>Creates the options; <paramref name="defaultModel"/> is <c>--model</c>'s default.</summary>
    public ModelOptions(string defaultModel)
    {
        Model = new Option<string>("--model")
        {
            DefaultValueFactory = _ => defaultModel,
            Description = "Model preset, a JSON model config file (see `sifa models`), or 'list' to print the presets",
        };
    }

    /// <summary><c>--model</c>: preset, config file, or <c>list</c>.</summary>
    public Option<string> Model { get; }

    /// <summary><c>--sifa-k</c>: odd local size 1..9.</summary>
    public Option<int?> SifaK { get; } = new("--sifa-k") { Description = "SIFA / correlation local size k: odd, 1..9 (paper Table 1c)" };

    /// <summary><c>--sifa-stages</c>: comma-separated stages 1..4, or <c>none</c>.</summary>
    public Option<string?> SifaStages { get; } = new("--sifa-stages") { Description = "Stages (1..4) that get the temporal block, e.g. 2,3,4 or 4; 'none' for C2D (Table 1d)" };

    /// <summary><c>--sifa-offsets</c>.</summary>
    public Option<string?> SifaOffsets { get; } = new("--sifa-offsets") { Description = $"SIFA offset source: {Values<OffsetSource>()} (Table 1b)" };

    /// <summary><c>--sifa-last-frame</c>.</summary>
    public Option<string?> SifaLastFrame { get; } = new("--sifa-last-frame") { Description = $"What the last frame attends to: {Values<LastFrame>()}" };

    /// <summary><c>--sifa-variant</c>.</summary>
    public Option<string?> SifaVariant { get; } = new("--sifa-variant") { Description = $"SIFA variant: {Values<SifaVariant>()} (Table 1a)" };

    /// <summary><c>--temporal-block</c>.</summary>
    public Option<string?> TemporalBlock { get; } = new("--temporal-block") { Description = $"Block of the chosen stages (ResNet presets): {Values<TemporalBlock>()} (Table 1e)" };

    /// <summary><c>--stem-stride</c>.</summary>
    public Option<int?> StemStride { get; } = new("--stem-stride") { Description = "Temporal stem stride (preset default when omitted)" };

    /// <summary>Adds every model option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, SifaK, SifaStages, SifaOffsets, SifaLastFrame, SifaVariant, TemporalBlock, StemStride }) command.Add(o);
    }

    /// <summary>Whether any model option was given on the command line (not taken from its default).</summary>
    public bool AnyGiven(ParseResult pr) =>
        new Option[] { Model, SifaK, SifaStages, SifaOffsets, SifaLastFrame, SifaVariant, TemporalBlock, StemStride }
            .Any(o => pr.GetResult(o) is { Implicit: false });

    /// <summary>True (after printing the presets) when <c>--model list</c> was given.</summary>
    public bool ListRequested(ParseResult pr)
    {
        if (!string.Equals(pr.GetValue(Model), "list", StringComparison.OrdinalIgnoreCase)) return false;
        PrintPresets(Console.Out);
        return true;
    }

    /// <summary>What <c>--model</c> names: the preset, or the config file's name without extension (for run folders).</summary>
    public string Label(ParseResult pr)
    {
        var v = pr.GetValue(Model)!;
        return IsFile(v) ? Path.GetFileNameWithoutExtension(v) : v.ToLowerInvariant();
    }

    /// <summary>
    /// The model the options describe, for <paramref name="numClasses"/> outputs and <paramref name="image"/>-sized frames,
    /// checked against its preset (<see cref="Presets.Resolve"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A value is unknown, out of range, or contradicts another (exit 2).</exception>
    /// <exception cref="IOException">The config file is missing or is not a model config (exit 1).</exception>
    public ModelSpec Spec(ParseResult pr, int numClasses, int image)
    {
        var v = pr.GetValue(Model)!;
        bool file = IsFile(v);
        var spec = file ? ReadFile(v) : new ModelSpec { Preset = Checks.Model(v) };
        spec = spec with
        {
            NumClasses = numClasses,
            Image = image,
            StemStride = pr.GetValue(StemStride) ?? spec.StemStride,
            SifaK = pr.GetValue(SifaK) ?? spec.SifaK,
            SifaStages = pr.GetValue(SifaStages) is { } st ? ParseStages(st) : spec.SifaStages,
            SifaOffsets = Enum<OffsetSource>(pr, SifaOffsets) ?? spec.SifaOffsets,
            SifaLastFrame = Enum<LastFrame>(pr, SifaLastFrame) ?? spec.SifaLastFrame,
            SifaVariant = Enum<SifaVariant>(pr, SifaVariant) ?? spec.SifaVariant,
            TemporalBlock = Enum<TemporalBlock>(pr, TemporalBlock) ?? spec.TemporalBlock,
        };
        try { Presets.Resolve(spec); }
        catch (ArgumentException e) when (file) { throw new ArgumentException($"--model {v}: {e.Message}", e); }
        return spec;
    }

    /// <summary>Stages from <c>2,3,4</c> (or <c>none</c> / empty for no stage); each must be an integer in 1..4.</summary>
    public static int[] ParseStages(string text)
    {
        if (text.Trim().Length == 0 || text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return Array.Empty<int>();
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var stages = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out stages[i]) || stages[i] < 1 || stages[i] > 4)
                throw new ArgumentException($"--sifa-stages '{text}': expected stages 1..4 separated by commas (e.g. 2,3,4) or 'none'");
        if (stages.Distinct().Count() != stages.Length) throw new ArgumentException($"--sifa-stages '{text}' lists a stage twice");
        return stages;
    }

    /// <summary>Prints every preset with its full config (one JSON line each).</summary>
    public static void PrintPresets(TextWriter output)
    {
        foreach (var name in Presets.Names)
            output.WriteLine($"{name,-12} {Presets.Resolve(new ModelSpec { Preset = name }).ToJson(indented: false)}");
    }

    /// <summary>The <c>sifa models [NAME]</c> command: the presets, or one preset's config file.</summary>
    public static Command CreateCommand()
    {
        var name = new Argument<string?>("name") { Arity = ArgumentArity.ZeroOrOne, Description = "A preset: print its full config, a model config file for --model" };
        var cmd = new Command("models", "List the model presets with their configs; `sifa models NAME > my.json` writes one as an editable --model file.") { name };
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(name) is not { } n) PrintPresets(Console.Out);
            else Console.WriteLine(Presets.Resolve(new ModelSpec { Preset = Checks.Model(n) }).ToJson());
            return 0;
        });
        return cmd;
    }

    // A path (a .json name, a separator, or an existing file) is a config file; anything else a preset name.
    private static bool IsFile(string v) =>
        v.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || v.Contains('/') || v.Contains(Path.DirectorySeparatorChar) || File.Exists(v);

    private static ModelSpec ReadFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--model {path}: no such model config file (or preset: {string.Join(", ", Presets.Names)})");
        try { return ModelSpec.FromJson(File.ReadAllText(path)); }
        catch (InvalidDataException e) { throw new InvalidDataException($"--model {path}: {e.Message}", e); }
    }

    private static T? Enum<T>(ParseResult pr, Option<string?> option) where T : struct, Enum
    {
        if (pr.GetValue(option) is not { } text) return null;
        foreach (var value in System.Enum.GetValues<T>())
            if (ModelSpec.Kebab(value).Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)) return value;
        throw new ArgumentException($"{option.Name} '{text}' is unknown ({Values<T>()})");
    }

    private static string Values<T>() where T : struct, Enum => string.Join(" | ", System.Enum.GetValues<T>().Select(v => ModelSpec.Kebab(v)));
}
