using System.Globalization;

namespace Sifa.Training;

/// <summary>
/// The test hook behind <c>SIFA_CRASH_AT=point[@epoch]</c>: aborts the process (no cleanup, no finally blocks, like a
/// SIGKILL) when <see cref="CheckpointStore.Save"/> reaches the named point, so a kill between any two steps of the
/// save sequence can be reproduced exactly.
/// </summary>
internal static class CrashHook
{
    public const string Variable = "SIFA_CRASH_AT";

    /// <summary>The hook the environment asks for, or null.</summary>
    /// <exception cref="ArgumentException">The variable names no point of <see cref="CheckpointStore.SavePoints"/>.</exception>
    public static Action<string, int>? FromEnvironment()
    {
        var v = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(v)) return null;
        var parts = v.Trim().Split('@');
        int epoch = -1;
        if (!CheckpointStore.SavePoints.Contains(parts[0]) || parts.Length > 2 ||
            (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out epoch)))
            throw new ArgumentException($"{Variable}='{v}': expected one of {string.Join(", ", CheckpointStore.SavePoints)}, optionally @EPOCH");
        return (point, e) =>
        {
            if (point == parts[0] && (epoch < 0 || e == epoch)) Environment.FailFast($"{Variable}={v}: aborting at '{point}' of the epoch {e} save");
        };
    }
}
