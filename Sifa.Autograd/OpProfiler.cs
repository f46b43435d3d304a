using System.Diagnostics;
using System.Text;

namespace Sifa.Autograd;

/// <summary>
/// A simple per-op wall-clock profiler for the autograd graph, switched on by the environment variable
/// <c>SIFA_PROFILE=1</c> (or <see cref="Enabled"/>). Forward time of an op is the time since the previous recorded op
/// (the op's result is computed just before it is recorded); backward time is the op's backward rule plus the
/// accumulation of its input gradients.
/// </summary>
public static class OpProfiler
{
    private static readonly Dictionary<string, (double Fwd, double Bwd, int Calls)> _acc = new();
    private static long _last = Stopwatch.GetTimestamp();

    /// <summary>Whether timings are being collected.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("SIFA_PROFILE") == "1";

    /// <summary>Restarts the forward clock (call before a forward pass so setup time is not charged to the first op).</summary>
    public static void Mark() => _last = Stopwatch.GetTimestamp();

    internal static void Forward(string op)
    {
        long now = Stopwatch.GetTimestamp();
        double s = (now - _last) / (double)Stopwatch.Frequency;
        _last = now;
        lock (_acc)
        {
            _acc.TryGetValue(op, out var e);
            _acc[op] = (e.Fwd + s, e.Bwd, e.Calls + 1);
        }
    }

    internal static void Backward(string op, long startTimestamp)
    {
        double s = (Stopwatch.GetTimestamp() - startTimestamp) / (double)Stopwatch.Frequency;
        lock (_acc)
        {
            _acc.TryGetValue(op, out var e);
            _acc[op] = (e.Fwd, e.Bwd + s, e.Calls);
        }
    }

    /// <summary>Clears the collected timings.</summary>
    public static void Reset()
    {
        lock (_acc) _acc.Clear();
        Mark();
    }

    /// <summary>A table of the collected timings, largest total first.</summary>
    /// <param name="divide">Divide every time by this (e.g. the number of steps profiled).</param>
    /// <returns>The formatted report.</returns>
    public static string Report(double divide = 1)
    {
        var sb = new StringBuilder();
        lock (_acc)
        {
            double total = _acc.Values.Sum(e => e.Fwd + e.Bwd) / divide;
            sb.AppendLine($"{"op",-24} {"calls",7} {"fwd_s",8} {"bwd_s",8} {"total_s",8} {"share",6}");
            foreach (var (k, e) in _acc.OrderByDescending(kv => kv.Value.Fwd + kv.Value.Bwd))
            {
                double f = e.Fwd / divide, b = e.Bwd / divide;
                sb.AppendLine($"{k,-24} {e.Calls / divide,7:F0} {f,8:F3} {b,8:F3} {f + b,8:F3} {100 * (f + b) / total,5:F1}%");
            }
            sb.AppendLine($"{"total",-24} {"",7} {"",8} {"",8} {total,8:F3}");
        }
        return sb.ToString();
    }
}
