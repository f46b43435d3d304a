using System.Globalization;
using Sifa.Training;
using Spectre.Console;

namespace Sifa.Cli.Progress;

/// <summary>
/// Renders a run's progress events (<see cref="ITrainingObserver"/>): a live Spectre.Console bar on a terminal
/// (<see cref="LiveView"/>), the same numbers as plain lines when stdout is not a terminal (<see cref="PlainView"/>:
/// CI, <c>| tee</c>, log files), or nothing but notices with <c>--quiet</c> (<see cref="QuietView"/>).
/// <c>SIFA_PROGRESS=live|plain</c> forces a mode.
/// </summary>
internal abstract class ProgressView : ITrainingObserver
{
    /// <summary>Plain lines per epoch (and per evaluation pass) at most, evenly spaced.</summary>
    public const int PlainLinesPerPass = 10;

    /// <summary>Picks the view for the current output.</summary>
    public static ProgressView Create(bool quiet)
    {
        if (quiet) return new QuietView();
        var forced = Environment.GetEnvironmentVariable("SIFA_PROGRESS")?.ToLowerInvariant();
        bool terminal = forced switch
        {
            "live" => true,
            "plain" => false,
            _ => !System.Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb",
        };
        return terminal ? new LiveView() : new PlainView();
    }

    /// <summary>Where one-line notices (bad samples, skipped steps, resume) go without disturbing the display.</summary>
    public abstract TextWriter Log { get; }

    /// <summary>Runs <paramref name="body"/> with the display live (a live view draws only while it runs).</summary>
    public virtual T Run<T>(Func<T> body) => body();

    /// <summary>A compact table of the epochs, at the end of a run.</summary>
    public virtual void Summary(IReadOnlyList<EpochMetrics> history)
    {
        if (history.Count == 0) return;
        var t = new Table { Border = TableBorder.Simple };
        foreach (var h in new[] { "epoch", "train loss", "train top1", "val loss", "val top1", "val top5", "lr", "seconds" })
            t.AddColumn(new TableColumn(h).RightAligned());
        double best = history.Max(h => double.IsFinite(h.ValTop1) ? h.ValTop1 : double.MinValue);
        foreach (var h in history)
        {
            string mark = h.ValTop1 == best ? " *" : "";
            t.AddRow(I($"{h.Epoch}"), I($"{h.TrainLoss:F4}"), I($"{h.TrainTop1:F3}"), I($"{h.ValLoss:F4}"), I($"{h.ValTop1:F3}{mark}"),
                I($"{h.ValTop5:F3}"), I($"{h.Lr:G3}"), I($"{h.Seconds:F1}"));
        }
        var console = Console();
        console.Profile.Width = Math.Max(console.Profile.Width, 100); // a plain console reports 80: keep rows on one line
        console.Write(t);
    }

    /// <summary>The console the view writes on (the current stdout).</summary>
    protected virtual IAnsiConsole Console() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(System.Console.Out),
        Interactive = InteractionSupport.No,
    });

    /// <inheritdoc/>
    public abstract void EpochStarted(int epoch, int epochs, int steps);
    /// <inheritdoc/>
    public abstract void StepDone(StepProgress progress);
    /// <inheritdoc/>
    public abstract void EvaluationStarted(int epoch, int batches);
    /// <inheritdoc/>
    public abstract void EvaluationProgress(EvalProgress progress);
    /// <inheritdoc/>
    public abstract void EpochDone(EpochMetrics metrics, int epochs, string summary);

    /// <summary>Formats invariantly.</summary>
    protected static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>A duration as m:ss (h:mm:ss past an hour).</summary>
    protected static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? I($"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}") : I($"{(int)t.TotalMinutes}:{t.Seconds:D2}");

    /// <summary>The running figures of a step, as both views print them.</summary>
    protected static string StepFigures(StepProgress p) =>
        I($"loss {p.RunningLoss:F4} top1 {p.RunningTop1:F3} | {p.ClipsPerSecond:F1} clips/s | data wait {p.DataWaitShare * 100:F0}% | ETA {Clock(p.Eta)}");

    /// <summary>The running figures of an evaluation batch.</summary>
    protected static string EvalFigures(EvalProgress p) => I($"top1 {p.Top1:F3} | {p.SamplesPerSecond:F1} clips/s");

    /// <summary>Whether step <paramref name="done"/> of <paramref name="total"/> is one of the evenly spaced ones to print.</summary>
    protected static bool Milestone(int done, int total) =>
        done == total || done * PlainLinesPerPass / total != (done - 1) * PlainLinesPerPass / total;
}

/// <summary>Nothing but notices (and the caller's result line).</summary>
internal sealed class QuietView : ProgressView
{
    /// <inheritdoc/>
    public override TextWriter Log => System.Console.Out;
    /// <inheritdoc/>
    public override void Summary(IReadOnlyList<EpochMetrics> history) { }
    /// <inheritdoc/>
    public override void EpochStarted(int epoch, int epochs, int steps) { }
    /// <inheritdoc/>
    public override void StepDone(StepProgress progress) { }
    /// <inheritdoc/>
    public override void EvaluationStarted(int epoch, int batches) { }
    /// <inheritdoc/>
    public override void EvaluationProgress(EvalProgress progress) { }
    /// <inheritdoc/>
    public override void EpochDone(EpochMetrics metrics, int epochs, string summary) { }
}

/// <summary>Line-by-line progress: about <see cref="ProgressView.PlainLinesPerPass"/> lines per epoch and per evaluation.</summary>
internal sealed class PlainView : ProgressView
{
    private int _epoch;

    /// <inheritdoc/>
    public override TextWriter Log => System.Console.Out;

    /// <inheritdoc/>
    public override void EpochStarted(int epoch, int epochs, int steps) => _epoch = epoch;

    /// <inheritdoc/>
    public override void StepDone(StepProgress p)
    {
        if (Milestone(p.Step, p.Steps)) System.Console.Out.WriteLine(I($"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps}: ") + StepFigures(p));
    }

    /// <inheritdoc/>
    public override void EvaluationStarted(int epoch, int batches) => _epoch = epoch;

    /// <inheritdoc/>
    public override void EvaluationProgress(EvalProgress p)
    {
        if (Milestone(p.Batches, p.TotalBatches))
            System.Console.Out.WriteLine((_epoch > 0 ? I($"epoch {_epoch} ") : "") + I($"validation batch {p.Batches}/{p.TotalBatches}: ") + EvalFigures(p));
    }

    /// <inheritdoc/>
    public override void EpochDone(EpochMetrics metrics, int epochs, string summary) => System.Console.Out.WriteLine(summary);
}

/// <summary>A live bar per epoch and per evaluation pass (Spectre.Console), epoch summaries printed above them.</summary>
internal sealed class LiveView : ProgressView
{
    private readonly IAnsiConsole _console = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.Detect, ColorSystem = ColorSystemSupport.Detect, Out = new AnsiConsoleOutput(System.Console.Out),
        Interactive = InteractionSupport.Yes,
    });
    private ProgressContext? _ctx;
    private ProgressTask? _task;
    private readonly LineWriter _log;
    private readonly FiguresColumn _figures = new();

    public LiveView() => _log = new LineWriter(line => _console.WriteLine(line));

    /// <inheritdoc/>
    public override TextWriter Log => _log;

    /// <inheritdoc/>
    protected override IAnsiConsole Console() => _console;

    /// <inheritdoc/>
    public override T Run<T>(Func<T> body)
    {
        T result = default!;
        _console.Progress()
            .AutoClear(true).HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 12 }, _figures)
            .Start(ctx =>
            {
                _ctx = ctx;
                try { result = body(); }
                finally { _ctx = null; }
            });
        return result;
    }

    /// <inheritdoc/>
    public override void EpochStarted(int epoch, int epochs, int steps) => Begin(I($"epoch {epoch}/{epochs}"), steps);

    /// <inheritdoc/>
    public override void StepDone(StepProgress p) =>
        Update(p.Step, I($"{p.Step}/{p.Steps} loss {p.RunningLoss:F4} top1 {p.RunningTop1:F3} {p.ClipsPerSecond:F1} clips/s wait {p.DataWaitShare * 100:F0}% ETA {Clock(p.Eta)}"));

    /// <inheritdoc/>
    public override void EvaluationStarted(int epoch, int batches) => Begin(epoch > 0 ? I($"epoch {epoch} val") : "evaluation", batches);

    /// <inheritdoc/>
    public override void EvaluationProgress(EvalProgress p) =>
        Update(p.Batches, I($"{p.Batches}/{p.TotalBatches} top1 {p.Top1:F3} {p.SamplesPerSecond:F1} clips/s"));

    /// <inheritdoc/>
    public override void EpochDone(EpochMetrics metrics, int epochs, string summary)
    {
        _task?.StopTask();
        _task = null;
        _console.WriteLine(summary);
    }

    private void Begin(string what, int total)
    {
        _task?.StopTask();
        _task = _ctx?.AddTask(Markup.Escape(what), maxValue: Math.Max(1, total));
    }

    private void Update(int done, string text)
    {
        if (_task == null) return;
        _figures.Set(_task, text);
        _task.Value = done;
    }
}

/// <summary>The running figures of each task, right of its bar.</summary>
internal sealed class FiguresColumn : ProgressColumn
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _text = new();

    /// <summary>Sets a task's figures.</summary>
    public void Set(ProgressTask task, string text) => _text[task.Id] = text;

    /// <inheritdoc/>
    public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
        new Text(_text.GetValueOrDefault(task.Id, ""));
}

/// <summary>A writer that hands each completed line to a callback (notices printed above a live display).</summary>
internal sealed class LineWriter(Action<string> line) : TextWriter
{
    private readonly System.Text.StringBuilder _buf = new();

    /// <inheritdoc/>
    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

    /// <inheritdoc/>
    public override void Write(char value)
    {
        lock (_buf)
        {
            if (value == '\n')
            {
                line(_buf.ToString().TrimEnd('\r'));
                _buf.Clear();
            }
            else _buf.Append(value);
        }
    }
}
