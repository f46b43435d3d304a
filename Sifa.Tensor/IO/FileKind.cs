using System.Runtime.InteropServices;

namespace Sifa.Tensors.IO;

/// <summary>
/// The kind of file a path names, from Linux <c>statx</c>: .NET reports FIFOs and devices as ordinary files, and a FIFO
/// blocks in <c>open</c> while a device such as <c>/dev/zero</c> never ends, so readers of checkpoints and videos check
/// the kind before they open anything.
/// </summary>
public static class FileKind
{
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
    public static unsafe string? Of(string path)
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
