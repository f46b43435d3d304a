using System.Runtime.InteropServices;

namespace Sifa.Tensors.IO;

/// <summary>
/// Opens checkpoint files for reading, refusing anything but a regular file: a FIFO would block in <c>open</c> forever
/// and a device such as <c>/dev/zero</c> reports length 0 yet never ends. The check runs before the file is opened.
/// </summary>
public static class CheckpointFile
{
    /// <summary>Opens <paramref name="path"/> read-only after checking that it is an existing regular file.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <returns>The open stream, at position 0.</returns>
    /// <exception cref="CheckpointFormatException">The path is missing, not a regular file, or cannot be opened.</exception>
    public static FileStream OpenRegular(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            if (Directory.Exists(path)) throw new CheckpointFormatException(path, null, "is a directory, not a checkpoint file");
            if (!File.Exists(path)) throw new CheckpointFormatException(path, null, "no such file");
            var kind = FileKind(path);
            if (kind is not (null or "regular file"))
                throw new CheckpointFormatException(path, null, $"is a {kind}, not a regular file; only regular files are read");
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is (IOException and not CheckpointFormatException) or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CheckpointFormatException(path, null, $"cannot open: {e.Message}", e);
        }
    }

    // ------------------------------------------------------------------ file type (Linux statx)

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

    /// <summary>
    /// What kind of file the path names after following links ("regular file", "FIFO", ...), or null where the kind
    /// cannot be learnt (not Linux, or no <c>statx</c>); .NET itself reports FIFOs and devices as normal files.
    /// </summary>
    internal static unsafe string? FileKind(string path)
    {
        if (Statx == null) return null;
        var name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        var buf = stackalloc byte[256];
        int rc;
        fixed (byte* p = name) rc = Statx(AtFdCwd, p, 0, StatxType, buf);
        if (rc != 0) return null; // let the open report the error
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
