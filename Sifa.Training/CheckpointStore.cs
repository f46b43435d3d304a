using System.Globalization;
using System.Text.Json;
using Sifa.Nn;
using Sifa.Nn.Optim;

namespace Sifa.Training;

/// <summary>Where a resumed run continues: the epochs done, the schedule's step and the metrics so far.</summary>
/// <param name="Epoch">Epochs finished.</param>
/// <param name="ScheduleStep">Optimizer steps taken (the schedule's position).</param>
/// <param name="History">Metrics of the finished epochs.</param>
public sealed record ResumePoint(int Epoch, long ScheduleStep, IReadOnlyList<EpochMetrics> History);

/// <summary>
/// The files of a run's output folder: model and optimizer checkpoints, the trainer state that resumes them, the
/// metrics log and the curves plot. Every file is written to a temporary file beside it and renamed, so an
/// interruption leaves either the previous or the new version, never a torn one.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>Model weights file in the output folder.</summary>
    public const string CheckpointFile = "checkpoint.safetensors";
    /// <summary>Optimizer state file in the output folder.</summary>
    public const string OptimizerFile = "optimizer.safetensors";
    /// <summary>Trainer state file in the output folder.</summary>
    public const string StateFile = "trainer_state.json";
    /// <summary>Metrics file in the output folder.</summary>
    public const string MetricsFile = "metrics.jsonl";
    /// <summary>Plot file in the output folder.</summary>
    public const string CurvesFile = "curves.svg";

    private static readonly JsonSerializerOptions Line = new() { WriteIndented = false };
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Opens (creating) an output folder.</summary>
    public CheckpointStore(string dir)
    {
        Dir = dir;
        Directory.CreateDirectory(dir);
    }

    /// <summary>The output folder.</summary>
    public string Dir { get; }

    /// <summary>The path of one of the folder's files.</summary>
    public string PathOf(string file) => Path.Combine(Dir, file);

    /// <summary>Whether the folder holds a trainer state to resume from.</summary>
    public bool CanResume => File.Exists(PathOf(StateFile));

    /// <summary>Loads the model and optimizer checkpoints into <paramref name="model"/> and <paramref name="optimizer"/>.</summary>
    /// <returns>Where the saved run stopped.</returns>
    /// <exception cref="InvalidDataException">The trainer state is empty.</exception>
    public ResumePoint Load(Module model, Optimizer optimizer)
    {
        var st = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(PathOf(StateFile)))
                 ?? throw new InvalidDataException($"empty trainer state in {PathOf(StateFile)}");
        model.Load(PathOf(CheckpointFile));
        optimizer.LoadStateDict(OptimizerState.Load(PathOf(OptimizerFile)));
        return new ResumePoint(st.Epoch, st.ScheduleStep, st.History);
    }

    /// <summary>Saves model, optimizer and trainer state after <paramref name="epoch"/> epochs.</summary>
    public void Save(Module model, Optimizer optimizer, int epoch, long scheduleStep, int seed, IEnumerable<EpochMetrics> history)
    {
        string e = epoch.ToString(CultureInfo.InvariantCulture);
        WriteAtomic(PathOf(CheckpointFile), p => model.Save(p, new Dictionary<string, string> { ["epoch"] = e }));
        var os = optimizer.StateDict();
        os.Values["epoch"] = e;
        WriteAtomic(PathOf(OptimizerFile), os.Save);
        var st = new TrainerState { Epoch = epoch, ScheduleStep = scheduleStep, Seed = seed, History = history.ToList() };
        WriteAtomic(PathOf(StateFile), JsonSerializer.Serialize(st, Indented));
    }

    /// <summary>Rewrites the metrics log with <paramref name="history"/> (empty for a fresh run).</summary>
    public void WriteMetrics(IEnumerable<EpochMetrics> history) =>
        WriteAtomic(PathOf(MetricsFile), string.Concat(history.Select(h => JsonSerializer.Serialize(h, Line) + "\n")));

    /// <summary>Appends one epoch to the metrics log.</summary>
    public void AppendMetrics(EpochMetrics m) => File.AppendAllText(PathOf(MetricsFile), JsonSerializer.Serialize(m, Line) + "\n");

    /// <summary>Redraws the curves plot.</summary>
    public void WriteCurves(IReadOnlyList<EpochMetrics> history) => WriteAtomic(PathOf(CurvesFile), CurvePlot.Svg(history));

    /// <summary>Writes a text file atomically (temporary file in the same folder, then rename).</summary>
    public static void WriteAtomic(string path, string text) => WriteAtomic(path, tmp => File.WriteAllText(tmp, text));

    /// <summary>Lets <paramref name="write"/> create a temporary file beside <paramref name="path"/>, then renames it over <paramref name="path"/>.</summary>
    public static void WriteAtomic(string path, Action<string> write)
    {
        var tmp = path + ".tmp";
        write(tmp);
        File.Move(tmp, path, overwrite: true);
    }

    private sealed class TrainerState
    {
        public int Epoch { get; set; }
        public long ScheduleStep { get; set; }
        public int Seed { get; set; }
        public List<EpochMetrics> History { get; set; } = new();
    }
}
