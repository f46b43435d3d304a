using System.Runtime.InteropServices;

namespace Sifa.Data;

/// <summary>
/// Checks that a path is a non-empty regular file before anything opens or probes it: a FIFO would block ffprobe until
/// its timeout (or forever for a plain read) and a device such as <c>/dev/zero</c> never ends. .NET reports FIFOs and
/// devices as ordinary files, so the kind comes from Linux <c>statx</c> where available.
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
            var kind = Kind(path);
            if (kind is not (null or "regular file")) return $"{what} is a {kind}, not a regular file";
            if (new FileInfo(path).Length == 0) return $"{what} is empty (0 bytes)";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"{what} cannot be read ({e.Message})";
        }
    }

    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28; // struct statx: mask u32, blksize u32, attributes u64, nlink, uid, gid u32, mode u16

    private static readonly unsafe delegate* unmanaged<int, byte*, int, uint, byte*, int> Statx = LoadStatx();

    private static unsafe delegate* unmanaged<int, byte*, int, uint, byte*, int> LoadStatx()
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (!NativeLibrary.TryLoad("libc.so.6", out var libc) && !NativeLibrary.TryLoad("libc", out libc)) return null;
        return NativeLibrary.TryGetExport(libc, "statx", out var fn) ? (delegate* unmanaged<int, byte*, int, uint, byte*, int>)fn : null;
    }

    /// <summary>The kind of file after following links ("regular file", "FIFO", ...), or null where it cannot be learnt.</summary>
    private static unsafe string? Kind(string path)
    {
        if (Statx == null) return null;
        var name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        var buf = stackalloc byte[256];
        int rc;
        fixed (byte* p = name) rc = Statx(AtFdCwd, p, 0, StatxType, buf);
        if (rc != 0) return null;
        return (*(ushort*)(buf + StatxModeOffset) & 0xF000) switch
        {
            0x8000 => "regular file",
            0x4000 => "directory",
            0x1000 => "FIFO",
            0x2000 => "character device",
            0x6000 => "block device",
            0xC000 => "socket",
            _ => "special file",
        };
    }
}
