using Sifa.Tensors.IO;

namespace Sifa.Data;

/// <summary>
/// Checks that a path is a non-empty regular file before anything opens or probes it: a FIFO would block ffprobe until
/// its timeout (or forever for a plain read) and a device such as <c>/dev/zero</c> never ends. .NET reports FIFOs and
/// devices as ordinary files, so the kind comes from <see cref="FileKind"/>.
/// </summary>
internal static class FileChecks
{
    /// <summary>Why <paramref name="path"/> cannot be read as a file (no such file, a directory, a FIFO, empty, ...), or null when it can.</summary>
    public static string? Problem(string path, string what)
    {
        try
        {
            if (Directory.Exists(path)) return $"{what} is a directory";
            if (!File.Exists(path)) return $"{what} not found";
            var kind = FileKind.Of(path);
            if (kind is not (null or "regular file")) return $"{what} is a {kind}, not a regular file";
            if (new FileInfo(path).Length == 0) return $"{what} is empty (0 bytes)";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"{what} cannot be read ({e.Message})";
        }
    }
}
