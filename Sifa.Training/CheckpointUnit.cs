using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sifa.Nn.Optim;
using Sifa.Tensors.IO;

namespace Sifa.Training;

/// <summary>The <c>trainer_state.json</c> of a checkpoint (PascalCase keys, as the first layout wrote them).</summary>
internal sealed class TrainerState
{
    /// <summary>Layout version: <see cref="CheckpointUnit.Format"/> for a checkpoint directory, 0 for the old flat layout.</summary>
    public int Format { get; set; }
    /// <summary>The run every part of the checkpoint belongs to (null in the old layout).</summary>
    public string? RunId { get; set; }
    public int Epoch { get; set; }
    public long ScheduleStep { get; set; }
    public int Seed { get; set; }
    public List<EpochMetrics> History { get; set; } = new();
}

/// <summary>A checkpoint read from disk and checked, before anything is loaded into a model.</summary>
internal sealed record CheckedCheckpoint(string Source, TrainerState State, SafeTensors.Content Model, OptimizerState Optimizer);

/// <summary>
/// One checkpoint: a directory <c>ckpt-epoch-NNNN/</c> holding <see cref="ModelFile"/>, <see cref="OptimizerFile"/>
/// and <see cref="StateFile"/>, each recording the epoch, the optimizer step and the run id, which must agree on load.
/// Also reads the old flat layout (the three files directly in the output folder, epoch recorded in each).
/// </summary>
internal static partial class CheckpointUnit
{
    /// <summary>Layout version written in <see cref="TrainerState.Format"/>.</summary>
    public const int Format = 2;
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string StateFile = "trainer_state.json";

    private const string EpochKey = "epoch", StepKey = "step", RunKey = "run_id";

    public static string Name(int epoch) => "ckpt-epoch-" + epoch.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>The epoch a committed checkpoint's directory name stands for, or -1 when the name is not one.</summary>
    public static int EpochOf(string name)
    {
        var m = NamePattern().Match(name);
        return m.Success && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int e) ? e : -1;
    }

    [GeneratedRegex(@"^ckpt-epoch-(\d{4,9})$")]
    private static partial Regex NamePattern();

    /// <summary>What each part records about the checkpoint it belongs to.</summary>
    public static Dictionary<string, string> Stamp(int epoch, long step, string runId) => new()
    {
        [EpochKey] = epoch.ToString(CultureInfo.InvariantCulture),
        [StepKey] = step.ToString(CultureInfo.InvariantCulture),
        [RunKey] = runId,
    };

    public static string Serialize(TrainerState s) => JsonSerializer.Serialize(s, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Reads the checkpoint in <paramref name="dir"/> and checks that its parts belong together.</summary>
    /// <exception cref="InvalidDataException">A part is missing, unreadable or from another epoch, step or run (the message names which).</exception>
    public static CheckedCheckpoint Read(string dir)
    {
        string name = Path.GetFileName(dir);
        int epoch = EpochOf(name);
        string Refuse(string why) => $"refusing to resume from {dir}: {why}";
        foreach (var f in new[] { StateFile, ModelFile, OptimizerFile })
            if (!File.Exists(Path.Combine(dir, f))) throw new InvalidDataException(Refuse($"{f} is missing (an incomplete checkpoint)"));
        var st = ReadState(Path.Combine(dir, StateFile), Refuse);
        if (st.Format != Format) throw new InvalidDataException(Refuse($"{StateFile} has layout version {st.Format}, expected {Format}"));
        if (st.Epoch != epoch) throw new InvalidDataException(Refuse($"{StateFile} records epoch {st.Epoch}, expected {epoch} (the directory's name)"));
        if (string.IsNullOrEmpty(st.RunId)) throw new InvalidDataException(Refuse($"{StateFile} records no run id"));
        CheckHistory(st, Refuse);
        var expected = Stamp(st.Epoch, st.ScheduleStep, st.RunId);
        var model = ReadPart(Path.Combine(dir, ModelFile), SafeTensors.Read, Refuse);
        CheckStamp(ModelFile, model.Metadata, expected, Refuse);
        var opt = ReadPart(Path.Combine(dir, OptimizerFile), OptimizerState.Load, Refuse);
        CheckStamp(OptimizerFile, opt.Values, expected, Refuse);
        return new CheckedCheckpoint(dir, st, model, opt);
    }

    /// <summary>Reads the old flat layout in <paramref name="outDir"/> (model, optimizer and state side by side).</summary>
    /// <exception cref="InvalidDataException">A part is missing, unreadable or from another epoch.</exception>
    public static CheckedCheckpoint ReadFlat(string outDir, string modelFile)
    {
        string Refuse(string why) => $"refusing to resume from the old-layout checkpoint in {outDir}: {why}";
        foreach (var f in new[] { modelFile, OptimizerFile })
            if (!File.Exists(Path.Combine(outDir, f))) throw new InvalidDataException(Refuse($"{f} is missing"));
        var st = ReadState(Path.Combine(outDir, StateFile), Refuse);
        CheckHistory(st, Refuse);
        var expected = new Dictionary<string, string> { [EpochKey] = st.Epoch.ToString(CultureInfo.InvariantCulture) };
        var model = ReadPart(Path.Combine(outDir, modelFile), SafeTensors.Read, Refuse);
        CheckStamp(modelFile, model.Metadata, expected, Refuse);
        var opt = ReadPart(Path.Combine(outDir, OptimizerFile), OptimizerState.Load, Refuse);
        CheckStamp(OptimizerFile, opt.Values, expected, Refuse);
        return new CheckedCheckpoint($"{outDir} (old layout)", st, model, opt);
    }

    private static TrainerState ReadState(string path, Func<string, string> refuse)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path)) ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(refuse($"{Path.GetFileName(path)} is not a trainer state ({e.Message})"), e);
        }
    }

    private static void CheckHistory(TrainerState st, Func<string, string> refuse)
    {
        if (st.Epoch < 1 || st.History.Count != st.Epoch)
            throw new InvalidDataException(refuse($"{StateFile} records epoch {st.Epoch} with {st.History.Count} epochs of metrics"));
        for (int i = 0; i < st.History.Count; i++)
            if (st.History[i].Epoch != i + 1)
                throw new InvalidDataException(refuse($"{StateFile} metrics line {i + 1} is for epoch {st.History[i].Epoch}"));
        if (st.History[^1].Step != st.ScheduleStep)
            throw new InvalidDataException(refuse($"{StateFile} records step {st.ScheduleStep} but its last epoch ended at step {st.History[^1].Step}"));
    }

    private static T ReadPart<T>(string path, Func<string, T> read, Func<string, string> refuse)
    {
        try { return read(path); }
        // The readers raise InvalidDataException or CheckpointFormatException (an IOException), both naming the file.
        catch (Exception e) when (e is InvalidDataException or IOException) { throw new InvalidDataException(refuse(e.Message), e); }
    }

    private static void CheckStamp(string file, IReadOnlyDictionary<string, string> found, Dictionary<string, string> expected, Func<string, string> refuse)
    {
        foreach (var (k, want) in expected)
        {
            if (!found.TryGetValue(k, out var got))
                throw new InvalidDataException(refuse($"{file} records no {k} (expected {want}, as in {StateFile})"));
            if (got != want)
                throw new InvalidDataException(refuse($"{file} records {k} {got}, expected {want} (as in {StateFile}): the parts come from different saves"));
        }
    }
}
