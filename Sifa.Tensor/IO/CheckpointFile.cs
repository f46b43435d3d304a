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
            var kind = FileKind.Of(path);
            if (kind is not (null or "regular file"))
                throw new CheckpointFormatException(path, null, $"is a {kind}, not a regular file; only regular files are read");
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is (IOException and not CheckpointFormatException) or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CheckpointFormatException(path, null, $"cannot open: {e.Message}", e);
        }
    }
}
