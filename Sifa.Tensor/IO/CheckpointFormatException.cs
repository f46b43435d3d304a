namespace Sifa.Tensors.IO;

/// <summary>
/// The one error a checkpoint reader (safetensors, PyTorch <c>.pth</c>) raises for a file it refuses: malformed,
/// truncated, over a resource limit, not a regular file, or unreadable. The message names the file and, where one is
/// involved, the tensor key. It is an <see cref="IOException"/> (.NET's <see cref="InvalidDataException"/> is sealed),
/// so handlers of I/O failures also see it.
/// </summary>
public sealed class CheckpointFormatException : IOException
{
    /// <summary>Creates the error; the message is prefixed with the file (and key) it names.</summary>
    /// <param name="file">The file (or the name given for a stream or buffer).</param>
    /// <param name="key">The tensor or entry the problem is in, or null when it concerns the file as a whole.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public CheckpointFormatException(string file, string? key, string message, Exception? inner = null)
        : base(key is null ? $"{file}: {message}" : $"{file}: tensor '{key}': {message}", inner)
    {
        File = file;
        Key = key;
    }

    /// <summary>The file the error is about.</summary>
    public string File { get; }

    /// <summary>The tensor key the error is about, or null.</summary>
    public string? Key { get; }
}
