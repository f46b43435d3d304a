using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sifa.Nn;
using Sifa.Nn.Optim;

namespace Sifa.Training;

/// <summary>Where a resumed run continues: the epochs done, the schedule's step and the metrics so far.</summary>
/// <param name="Epoch">Epochs finished.</param>
/// <param name="ScheduleStep">Optimizer steps taken (the schedule's position).</param>
/// <param name="History">Metrics of the finished epochs.</param>
public sealed record ResumePoint(int Epoch, long ScheduleStep, IReadOnlyList<EpochMetrics> History)
{
    /// <summary>The checkpoint resumed from: its directory, or the folder of an old-layout checkpoint.</summary>
    public string Source { get; init; } = "";
}

/// <summary>What a run does with an output folder that may already hold a checkpoint.</summary>
public enum ResumeMode
{
    /// <summary>Start a new run (refused when the folder already holds one, unless overwriting).</summary>
    Never,
    /// <summary>Continue the folder's checkpoint; having none is an error.</summary>
    Required,
    /// <summary>Continue the folder's checkpoint when there is one, else start a new run.</summary>
    Auto,
}

/// <summary>A run's output (checkpoint, metrics, curves) could not be written. The message is one line that says
/// what failed and which checkpoint is still usable.</summary>
public sealed class OutputWriteException : IOException
{
    /// <summary>Creates the exception.</summary>
    public OutputWriteException(string message, Exception inner) : base(message, inner) => HResult = inner.HResult;
}

/// <summary>
/// The files of a run's output folder. A checkpoint is one unit: a directory <c>ckpt-epoch-NNNN/</c> holding
/// <c>model.safetensors</c>, <c>optimizer.safetensors</c> and <c>trainer_state.json</c>, each stamped with the epoch,
/// step and run id. It is written under a temporary name, its files and the directory fsynced, and made visible by
/// one directory rename; then the pointer file <see cref="LatestFile"/> is replaced (write, fsync, rename, fsync the
/// folder) — that rename is the commit. Only the checkpoint <see cref="LatestFile"/> names is ever resumed; any other
/// <c>ckpt-epoch-*</c> directory is an uncommitted or superseded leftover and is deleted. After the commit
/// <see cref="CheckpointFile"/> (what eval and predict read) becomes a hard link to the committed model and the
/// superseded checkpoint is removed, so the folder holds one checkpoint, two only while the next is being written.
/// </summary>
public sealed partial class CheckpointStore
{
    /// <summary>The latest committed model weights in the output folder (for eval, predict, convert).</summary>
    public const string CheckpointFile = "checkpoint.safetensors";
    /// <summary>The pointer file naming the committed checkpoint directory.</summary>
    public const string LatestFile = "latest";
    /// <summary>Model weights inside a checkpoint directory.</summary>
    public const string ModelFile = CheckpointUnit.ModelFile;
    /// <summary>Optimizer state inside a checkpoint directory (and directly in the folder in the old layout).</summary>
    public const string OptimizerFile = CheckpointUnit.OptimizerFile;
    /// <summary>Trainer state inside a checkpoint directory (and directly in the folder in the old layout).</summary>
    public const string StateFile = CheckpointUnit.StateFile;
    /// <summary>Metrics file in the output folder.</summary>
    public const string MetricsFile = "metrics.jsonl";
    /// <summary>Plot file in the output folder.</summary>
    public const string CurvesFile = "curves.svg";

    /// <summary>The named moments of <see cref="Save"/>, in order; <c>SIFA_CRASH_AT=point[@epoch]</c> aborts the
    /// process at one (a test hook: the kill test proves each leaves a resumable folder).</summary>
    public static IReadOnlyList<string> SavePoints { get; } =
        ["unit-created", "model-written", "optimizer-written", "state-written", "unit-renamed",
         "latest-written", "latest-renamed", "link-made", "link-renamed", "old-moved", "saved"];

    private static readonly JsonSerializerOptions Line = new() { WriteIndented = false };
    private readonly TextWriter _log;
    private string? _committed;   // directory name of the committed checkpoint (null: none, or the old layout)
    private int _committedEpoch;  // its epoch (0: none)

    /// <summary>Opens (creating) an output folder.</summary>
    /// <param name="dir">The folder.</param>
    /// <param name="log">Where cleanup and overwrite notices go (nowhere when null).</param>
    public CheckpointStore(string dir, TextWriter? log = null)
    {
        Dir = dir;
        _log = log ?? TextWriter.Null;
        Directory.CreateDirectory(dir);
    }

    /// <summary>The output folder.</summary>
    public string Dir { get; }

    /// <summary>The run the saved checkpoints belong to: new for a fresh run, the checkpoint's when resuming.</summary>
    public string RunId { get; private set; } = NewRunId();

    /// <summary>Called at each of <see cref="SavePoints"/> with the epoch being saved (tests inject failures here).</summary>
    internal Action<string, int>? Fault { get; set; } = CrashHook.FromEnvironment();

    /// <summary>The path of one of the folder's files.</summary>
    public string PathOf(string file) => Path.Combine(Dir, file);

    /// <summary>Whether the folder holds a committed checkpoint (or an old-layout one) to resume from.</summary>
    public bool CanResume => Find().Kind != Found.None;

    /// <summary>
    /// Whether the folder already holds a run that a new run would overwrite: a checkpoint (committed, damaged or
    /// old-layout), the model file or metrics. Uncommitted leftovers of a run killed before its first save do not count.
    /// </summary>
    public bool HoldsRun =>
        Find().Kind != Found.None || File.Exists(PathOf(CheckpointFile)) || File.Exists(PathOf(OptimizerFile)) ||
        (File.Exists(PathOf(MetricsFile)) && new FileInfo(PathOf(MetricsFile)).Length > 0);

    /// <summary>
    /// Starts a run in the folder: resumes its checkpoint into <paramref name="model"/> and <paramref name="optimizer"/>
    /// or prepares a fresh start as <paramref name="mode"/> says, then deletes stale temporary files of killed runs.
    /// </summary>
    /// <param name="mode">Resume or not.</param>
    /// <param name="overwrite">With <see cref="ResumeMode.Never"/>: replace a run already in the folder.</param>
    /// <param name="model">The model to load.</param>
    /// <param name="optimizer">The optimizer to load.</param>
    /// <returns>Where the resumed run stopped, or null for a fresh start.</returns>
    /// <exception cref="ArgumentException">Nothing to resume, or a run is there and overwriting was not asked for: the
    /// settings do not fit the folder (the message says which flag to change).</exception>
    /// <exception cref="InvalidDataException">The checkpoint is incomplete or its parts disagree (the message says which).</exception>
    public ResumePoint? Begin(ResumeMode mode, bool overwrite, Module model, Optimizer optimizer)
    {
        var (kind, _) = Find();
        if (mode == ResumeMode.Required && kind == Found.None) throw new ArgumentException(NothingToResume());
        if (mode != ResumeMode.Never && kind != Found.None) return Load(model, optimizer);
        if (HoldsRun)
        {
            if (!overwrite)
                throw new ArgumentException($"{Dir} already holds a run ({Describe()}): pass --resume to continue it, --overwrite to replace it, or another --out");
            _log.WriteLine($"overwriting the run in {Dir} ({Describe()})");
            RemoveRun();
        }
        CleanStale(keep: null);
        RunId = NewRunId();
        _committed = null; _committedEpoch = 0;
        return null;
    }

    /// <summary>Checks the committed checkpoint and loads it into <paramref name="model"/> and <paramref name="optimizer"/>
    /// (nothing is loaded unless every part agrees), then deletes stale temporary files and superseded checkpoints.</summary>
    /// <returns>Where the saved run stopped.</returns>
    /// <exception cref="ArgumentException">There is no checkpoint.</exception>
    /// <exception cref="InvalidDataException">The checkpoint is incomplete or its parts disagree (the message says which).</exception>
    public ResumePoint Load(Module model, Optimizer optimizer)
    {
        var (kind, name) = Find();
        var ck = kind switch
        {
            Found.Unit => CheckpointUnit.Read(PathOf(name!)),
            Found.Flat => CheckpointUnit.ReadFlat(Dir, CheckpointFile),
            Found.BadPointer => throw new InvalidDataException($"refusing to resume from {Dir}: {name}"),
            _ => throw new ArgumentException(NothingToResume()),
        };
        try
        {
            model.LoadStateDict(ck.Model.Tensors, strict: true, source: ck.Source);
            optimizer.LoadStateDict(ck.Optimizer);
        }
        catch (StateDictException e)
        {
            throw new InvalidDataException($"refusing to resume from {ck.Source}: the checkpoint does not fit this model ({e.Message})", e);
        }
        RunId = ck.State.RunId ?? NewRunId();
        _committed = kind == Found.Unit ? name : null;
        _committedEpoch = ck.State.Epoch;
        CleanStale(keep: _committed);
        return new ResumePoint(ck.State.Epoch, ck.State.ScheduleStep, ck.State.History) { Source = ck.Source };
    }

    /// <summary>Saves model, optimizer and trainer state after <paramref name="epoch"/> epochs as one checkpoint (see the
    /// class summary), then points <see cref="CheckpointFile"/> at its model and removes the superseded checkpoint. The
    /// model file also records <c>record</c> (see <see cref="CheckpointRecord"/>; its epoch and metrics are set here);
    /// without one it records only the stamp, as checkpoints before self-describing ones did.</summary>
    /// <exception cref="OutputWriteException">A write failed (e.g. the disk is full); the previous checkpoint is still committed and intact.</exception>
    /// <exception cref="ArgumentException"><paramref name="epoch"/> is not after the committed checkpoint's.</exception>
    public void Save(Module model, Optimizer optimizer, int epoch, long scheduleStep, int seed, IEnumerable<EpochMetrics> history,
        CheckpointRecord? record = null)
    {
        // Epochs only move forward, so the directory written here is never the committed one.
        if (epoch <= _committedEpoch) throw new ArgumentException($"cannot save epoch {epoch}: the committed checkpoint is already at epoch {_committedEpoch}");
        string name = CheckpointUnit.Name(epoch), unit = PathOf(name), tmp = PathOf($".{name}.tmp-{Environment.ProcessId}");
        var stamp = CheckpointUnit.Stamp(epoch, scheduleStep, RunId);
        var state = new TrainerState { Format = CheckpointUnit.Format, RunId = RunId, Epoch = epoch, ScheduleStep = scheduleStep, Seed = seed, History = history.ToList() };
        var modelMeta = new Dictionary<string, string>(stamp);
        if (record != null)
            foreach (var (k, v) in (record with { Epoch = epoch, Metrics = state.History.LastOrDefault() }).ToMetadata()) modelMeta.TryAdd(k, v);
        try
        {
            DeleteDirectory(tmp);
            Directory.CreateDirectory(tmp);
            Hit("unit-created", epoch);
            model.Save(Path.Combine(tmp, ModelFile), modelMeta); // fsynced by the writer
            Hit("model-written", epoch);
            var os = optimizer.StateDict();
            foreach (var (k, v) in stamp) os.Values[k] = v;
            os.Save(Path.Combine(tmp, OptimizerFile));
            Hit("optimizer-written", epoch);
            DurableFs.WriteText(Path.Combine(tmp, StateFile), CheckpointUnit.Serialize(state));
            Hit("state-written", epoch);
            DurableFs.SyncDirectory(tmp);
            DeleteDirectory(unit); // an uncommitted leftover of this epoch: the pointer never named it
            Directory.Move(tmp, unit);
            DurableFs.SyncDirectory(Dir);
            Hit("unit-renamed", epoch);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDeleteDirectory(tmp);
            TryDeleteDirectory(unit); // renamed but not committed: nothing names it
            throw WriteFailed(epoch, e);
        }
        Commit(name, epoch);

        string linkTmp = PathOf($".{CheckpointFile}.tmp");
        try
        {
            TryDelete(linkTmp);
            DurableFs.LinkOrCopy(Path.Combine(unit, ModelFile), linkTmp);
            Hit("link-made", epoch);
            File.Move(linkTmp, PathOf(CheckpointFile), overwrite: true);
            DurableFs.SyncDirectory(Dir);
            Hit("link-renamed", epoch);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(linkTmp);
            throw new OutputWriteException($"the epoch {epoch} checkpoint is saved in {unit}, but {PathOf(CheckpointFile)} could not be updated: {Reason(e)}", e);
        }
        RemoveSuperseded(name, epoch);
        Hit("saved", epoch);
    }

    // Replaces the pointer: after the rename the new checkpoint is the committed one. A failure before the rename
    // deletes the new (uncommitted) directory, freeing its space; the previous checkpoint stays committed.
    private void Commit(string name, int epoch)
    {
        string latestTmp = PathOf($".{LatestFile}.tmp"), unit = PathOf(name);
        bool renamed = false;
        try
        {
            DurableFs.WriteText(latestTmp, name + "\n");
            Hit("latest-written", epoch);
            File.Move(latestTmp, PathOf(LatestFile), overwrite: true);
            renamed = true;
            DurableFs.SyncDirectory(Dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(latestTmp);
            if (!renamed) TryDeleteDirectory(unit);
            else { _committed = name; _committedEpoch = epoch; }
            throw WriteFailed(epoch, e);
        }
        _committed = name; _committedEpoch = epoch;
        Hit("latest-renamed", epoch);
    }

    // Deletes every checkpoint but the committed one (and the old layout's files), each renamed to a trash name first
    // so that a kill halfway through a deletion leaves a name the start-up cleanup recognises, never a half directory
    // that looks like a checkpoint.
    private void RemoveSuperseded(string keep, int epoch)
    {
        foreach (var d in Directory.EnumerateDirectories(Dir).Select(Path.GetFileName).OfType<string>().ToList())
        {
            if (d == keep || CheckpointUnit.EpochOf(d) < 0) continue;
            var trash = PathOf($".{d}.old-{Environment.ProcessId}");
            try
            {
                Directory.Move(PathOf(d), trash);
                Hit("old-moved", epoch);
                Directory.Delete(trash, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.WriteLine($"warning: could not delete the superseded checkpoint {PathOf(d)}: {Reason(e)}");
            }
        }
        foreach (var f in new[] { OptimizerFile, StateFile })
            TryDelete(PathOf(f)); // the old layout's, now superseded (checkpoint.safetensors was replaced above)
    }

    /// <summary>Rewrites the metrics log with <paramref name="history"/> (empty for a fresh run).</summary>
    /// <exception cref="OutputWriteException">The write failed.</exception>
    public void WriteMetrics(IEnumerable<EpochMetrics> history) =>
        WriteAtomic(MetricsFile, string.Concat(history.Select(h => JsonSerializer.Serialize(h, Line) + "\n")));

    /// <summary>Appends one epoch to the metrics log.</summary>
    /// <exception cref="OutputWriteException">The write failed.</exception>
    public void AppendMetrics(EpochMetrics m)
    {
        try { File.AppendAllText(PathOf(MetricsFile), JsonSerializer.Serialize(m, Line) + "\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw OutputFailed(MetricsFile, e); }
    }

    /// <summary>Redraws the curves plot.</summary>
    /// <exception cref="OutputWriteException">The write failed.</exception>
    public void WriteCurves(IReadOnlyList<EpochMetrics> history) => WriteAtomic(CurvesFile, CurvePlot.Svg(history));

    // Metrics and curves are derived from the checkpoint's history (rewritten on resume), so a plain rename suffices.
    private void WriteAtomic(string file, string text)
    {
        string path = PathOf(file), tmp = PathOf($".{file}.tmp");
        try
        {
            File.WriteAllText(tmp, text);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw OutputFailed(file, e);
        }
    }

    // ---------------------------------------------------------------- finding and cleaning

    private enum Found { None, Unit, Flat, BadPointer }

    // The committed checkpoint: what the pointer names, else an old-layout trainer state. For BadPointer the name is the problem.
    private (Found Kind, string? Name) Find()
    {
        var latest = PathOf(LatestFile);
        if (File.Exists(latest))
        {
            var name = File.ReadAllText(latest).Trim();
            if (CheckpointUnit.EpochOf(name) < 0) return (Found.BadPointer, $"{latest} does not name a checkpoint directory (it holds '{Clip(name)}')");
            if (!Directory.Exists(PathOf(name))) return (Found.BadPointer, $"{latest} names {name}, which is missing");
            return (Found.Unit, name);
        }
        return File.Exists(PathOf(StateFile)) ? (Found.Flat, null) : (Found.None, null);
    }

    private string Describe()
    {
        var (kind, name) = Find();
        return kind switch
        {
            Found.Unit => $"checkpoint {name}",
            Found.Flat => "an old-layout checkpoint",
            Found.BadPointer => name!,
            _ => File.Exists(PathOf(CheckpointFile)) ? CheckpointFile : MetricsFile,
        };
    }

    private string NothingToResume()
    {
        var uncommitted = CheckpointDirectories().ToList();
        string extra = uncommitted.Count > 0 ? $"; {string.Join(", ", uncommitted)} never got committed (the run was stopped while saving)" : "";
        return $"nothing to resume in {Dir}: no '{LatestFile}' checkpoint pointer and no old-layout {StateFile}{extra}. " +
               "Run without --resume to start a new run, or use --resume auto";
    }

    private IEnumerable<string> CheckpointDirectories() =>
        Directory.EnumerateDirectories(Dir).Select(Path.GetFileName).OfType<string>().Where(d => CheckpointUnit.EpochOf(d) >= 0).Order(StringComparer.Ordinal);

    // Our temporary names: checkpoint directories being written or deleted, the pointer's and link's temporaries, the
    // safetensors writer's (.NAME.PID.GUID.tmp), and this and the first layout's metrics/curves temporaries.
    [GeneratedRegex(@"^\.ckpt-epoch-\d{4,9}\.(tmp|old)-\d+$")]
    private static partial Regex StaleDirectory();

    [GeneratedRegex(@"^\.?(latest|checkpoint\.safetensors|optimizer\.safetensors|model\.safetensors|trainer_state\.json|metrics\.jsonl|curves\.svg)(\.\d+\.[0-9a-f]{32})?\.tmp$")]
    private static partial Regex StaleFile();

    // Deletes our stale temporaries and every checkpoint directory but the committed one (uncommitted or superseded).
    private void CleanStale(string? keep)
    {
        var removed = new List<string>();
        foreach (var path in Directory.EnumerateDirectories(Dir).ToList())
        {
            var d = Path.GetFileName(path);
            if (d == keep || !(StaleDirectory().IsMatch(d) || CheckpointUnit.EpochOf(d) >= 0)) continue;
            DeleteDirectory(path);
            removed.Add(d + "/");
        }
        foreach (var path in Directory.EnumerateFiles(Dir).ToList())
        {
            var f = Path.GetFileName(path);
            if (!StaleFile().IsMatch(f)) continue;
            File.Delete(path);
            removed.Add(f);
        }
        if (removed.Count > 0) _log.WriteLine($"removed leftovers of an interrupted run from {Dir}: {string.Join(", ", removed.Order(StringComparer.Ordinal))}");
    }

    // Decommits first (the pointer), so a kill during the removal never leaves a pointer to a half-deleted checkpoint.
    private void RemoveRun()
    {
        TryDelete(PathOf(LatestFile));
        foreach (var d in CheckpointDirectories().ToList()) DeleteDirectory(PathOf(d));
        foreach (var f in new[] { CheckpointFile, OptimizerFile, StateFile, MetricsFile, CurvesFile }) TryDelete(PathOf(f));
    }

    // ---------------------------------------------------------------- helpers

    private void Hit(string point, int epoch) => Fault?.Invoke(point, epoch);

    private OutputWriteException WriteFailed(int epoch, Exception e)
    {
        string kept = _committed != null ? $"the previous checkpoint {Path.Combine(Dir, _committed)} (epoch {_committedEpoch}) is intact: free space and rerun with --resume"
                    : _committedEpoch > 0 ? $"the previous (old-layout) checkpoint of epoch {_committedEpoch} is intact: free space and rerun with --resume"
                    : "there is no earlier checkpoint";
        return new OutputWriteException($"cannot save the epoch {epoch} checkpoint in {Dir}: {Reason(e)}; {kept}", e);
    }

    private OutputWriteException OutputFailed(string file, Exception e)
    {
        string kept = _committed != null ? $"the checkpoint {Path.Combine(Dir, _committed)} is unaffected" : "no checkpoint is affected";
        return new OutputWriteException($"cannot write {PathOf(file)}: {Reason(e)}; {kept}", e);
    }

    private static string Reason(Exception e) =>
        (DurableFs.IsDiskFull(e) ? "no space left on device" : e.Message).ReplaceLineEndings(" ");

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static string NewRunId() => Guid.NewGuid().ToString("N")[..12];

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }

    private static void TryDeleteDirectory(string path)
    {
        try { DeleteDirectory(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
