using System.Runtime.InteropServices;
using System.Text;

namespace Sifa.Training;

/// <summary>
/// The few file-system steps a crash-safe commit needs beyond what .NET offers: fsync of a directory (so a rename in it
/// survives a power cut, not only a killed process) and hard links (so <c>checkpoint.safetensors</c> can name the
/// committed model without a second copy on disk). Unix only; elsewhere directory fsync is skipped (NTFS journals
/// renames) and links fall back to a copy.
/// </summary>
internal static partial class DurableFs
{
    private static bool Unix => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    /// <summary>Writes <paramref name="text"/> to a new file and fsyncs it.</summary>
    public static void WriteText(string path, string text)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        fs.Write(Encoding.UTF8.GetBytes(text));
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Fsyncs a directory, making the renames and creations inside it durable.</summary>
    /// <exception cref="IOException">The file system reported an I/O error.</exception>
    public static void SyncDirectory(string dir)
    {
        if (!Unix) return;
        int fd = Open(dir, 0 /* O_RDONLY: enough to fsync a directory */);
        if (fd < 0) return; // a directory we may not open (odd mounts): the rename is still atomic, just not flushed
        try
        {
            // EINVAL / ENOTSUP: the file system has no directory fsync (some FUSE or network mounts); nothing to do.
            if (Fsync(fd) != 0 && Marshal.GetLastPInvokeError() is int err && err != 22 && err != 95)
                throw new IOException($"fsync of directory {dir} failed (errno {err})", err);
        }
        finally { _ = Close(fd); }
    }

    /// <summary>Makes <paramref name="link"/> a hard link to <paramref name="target"/>, else a copy of it (fsynced).</summary>
    public static void LinkOrCopy(string target, string link)
    {
        if (Unix && Link(target, link) == 0) return;
        File.Copy(target, link, overwrite: true);
        using var fs = new FileStream(link, FileMode.Open, FileAccess.ReadWrite);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Whether <paramref name="e"/> says the disk (or quota) is full.</summary>
    public static bool IsDiskFull(Exception e) =>
        e is IOException io && (io.HResult is 28 /* ENOSPC */ or 122 /* EDQUOT */ or unchecked((int)0x80070070) /* ERROR_DISK_FULL */ or unchecked((int)0x80070027) /* ERROR_HANDLE_DISK_FULL */);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string target, string link);
}
