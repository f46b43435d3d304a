using System.CommandLine;
using System.Globalization;
using Sifa.Tensors;

namespace Sifa.Cli.Bench;

/// <summary>
/// <c>sifa bench gpu</c>: one run that says whether a GPU device computes what the CPU computes and how fast. Every figure
/// is one line starting with a tag (<c>device</c>, <c>kernel</c>, <c>sgemm</c>, <c>bandwidth</c>, <c>leak</c>,
/// <c>steploss</c>, <c>step</c>, <c>summary</c>) followed by <c>key=value</c> fields, written and flushed as soon as it is
/// known, so a run cut short still shows what it did. bench/gpu/README.md explains each line.
/// </summary>
public static class GpuCheck
{
    /// <summary>Largest accepted max relative error of a kernel against the CPU backend.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Builds the command.</summary>
    public static Command CreateCommand()
    {
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cuda", Description = "GPU device to check: cuda | ilgpu-cpu." };
        var quick = new Option<bool>("--quick") { Description = "Small sizes and a tiny model (CI on ilgpu-cpu)." };
        var cmd = new Command("gpu", "GPU check: every backend op against the CPU (maxrel, first and warm ms), SGEMM cuBLAS vs tiled, "
            + "bandwidth, allocator leak check, one training step; one tagged line per figure.") { device, quick };
        cmd.SetAction(r => Run(r.GetValue(device)!, r.GetValue(quick), Console.Out));
        return cmd;
    }

    /// <summary>Runs every check on <paramref name="deviceName"/>; 0 when every comparison is within tolerance.</summary>
    public static int Run(string deviceName, bool quick, TextWriter output)
    {
        var log = new CheckLog(output);
        var device = Device.Parse(deviceName);
        if (device.IsHost) throw new ArgumentException("bench gpu compares a GPU device with the CPU: use --device cuda or ilgpu-cpu");
        if (!Backends.TryGet(device, out var be))
        {
            // The factory's one-line reason (no driver, no device, driver too old).
            try { Backends.For(device); }
            catch (NotSupportedException e) { log.Line($"unavailable device={device} reason=\"{e.Message}\""); }
            return 2;
        }
        var info = be as IDeviceInfo ?? throw new NotSupportedException($"the {device} backend reports no device information");
        log.Line($"device {device} name=\"{info.Name}\" quick={quick}");
        log.Line($"details {info.Details}");

        var checks = new OpChecks(new Comparer(Backends.Cpu, be!, info, log, quick ? 2 : 5), quick);
        checks.RunAll();
        var system = new SystemChecks(be!, info, log, quick);
        system.Sgemm();
        system.Bandwidth();
        system.LeakCheck();
        system.TrainingStep();
        log.Line(string.Format(CultureInfo.InvariantCulture, "summary checks={0} failed={1} worst_maxrel={2} worst={3} ok={4}",
            log.Checks, log.Failed.Count, Fmt.E(log.WorstMaxRel), log.Worst ?? "-", log.Failed.Count == 0 ? "true" : "false")
            + (log.Failed.Count > 0 ? " failures=" + string.Join(",", log.Failed) : ""));
        return log.Failed.Count == 0 ? 0 : 1;
    }
}

/// <summary>Writes the tagged lines (flushed one by one) and keeps the pass/fail tally.</summary>
internal sealed class CheckLog(TextWriter output)
{
    public int Checks { get; private set; }
    public List<string> Failed { get; } = new();
    public double WorstMaxRel { get; private set; }
    public string? Worst { get; private set; }

    public void Line(string text)
    {
        output.WriteLine(text);
        output.Flush();
    }

    /// <summary>Counts one comparison; NaN (a mismatch in NaNs, or an error) fails.</summary>
    public bool Record(string name, double maxRel, double tolerance)
    {
        Checks++;
        bool ok = maxRel <= tolerance;
        if (!ok) Failed.Add(name);
        // The worst is the largest error, or the first NaN (which stays: nothing is worse).
        if (!double.IsNaN(WorstMaxRel) && (double.IsNaN(maxRel) || maxRel > WorstMaxRel || Worst == null))
        {
            WorstMaxRel = maxRel;
            Worst = name;
        }
        return ok;
    }

    /// <summary>Counts one yes/no check (not an error size: it leaves the worst error alone).</summary>
    public bool Pass(string name, bool ok)
    {
        Checks++;
        if (!ok) Failed.Add(name);
        return ok;
    }

    public void Error(string tag, string name, Exception e)
    {
        Checks++;
        Failed.Add(name);
        Line($"{tag} {name} error=\"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}\" ok=false");
    }
}

/// <summary>Number formats of the tagged lines (invariant culture).</summary>
internal static class Fmt
{
    public static string E(double v) => v.ToString("0.00e+00", CultureInfo.InvariantCulture);

    public static string Ms(double seconds) => (seconds * 1e3).ToString("0.000", CultureInfo.InvariantCulture);

    public static string F(double v, string format = "0.00") => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>
    /// max|actual − expected| / max|expected| over all elements: the error relative to the output's scale, which stays
    /// meaningful where single elements are near zero (an element-wise ratio would divide by cancellation noise).
    /// NaN where only one side is NaN at some element; 0 for two empty or all-zero equal outputs.
    /// </summary>
    public static double MaxRel(float[] expected, float[] actual)
    {
        if (expected.Length != actual.Length) return double.NaN;
        double maxErr = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (float.IsNaN(e) || float.IsNaN(a))
            {
                if (float.IsNaN(e) != float.IsNaN(a)) return double.NaN;
                continue;
            }
            if (float.IsInfinity(e) || float.IsInfinity(a))
            {
                if (e != a) return double.NaN;
                continue;
            }
            maxErr = Math.Max(maxErr, Math.Abs((double)a - e));
            scale = Math.Max(scale, Math.Abs((double)e));
        }
        return maxErr == 0 ? 0 : maxErr / Math.Max(scale, 1e-30);
    }
}
