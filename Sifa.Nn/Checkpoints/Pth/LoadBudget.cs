using Sifa.Tensors.IO;

namespace Sifa.Nn.Checkpoints.Pth;

/// <summary>
/// Bounds what one checkpoint load may allocate, as a multiple of the file's size: a pickle, a deflated entry or an
/// expanded (stride-0) tensor can otherwise turn a few bytes into gigabytes. It counts the bytes this thread really
/// allocated (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) plus what has been promised for later (storages to
/// read, tensors to materialise), and refuses, naming the file, before an allocation would pass the limit.
/// </summary>
internal sealed class LoadBudget
{
    /// <summary>
    /// Allowed bytes per byte of file. A torch-written checkpoint needs about 2x (stored bytes, then float32 copies;
    /// 5x for uint8); a pickle of nested containers about 50x (a list object and its array per two opcodes).
    /// </summary>
    public const long BytesPerFileByte = 64;

    /// <summary>Allowed on top, so small files may still hold small expanded tensors.</summary>
    public const long Slack = 16L << 20;

    private readonly long _start = GC.GetAllocatedBytesForCurrentThread();
    private readonly string _file;
    private long _promised;

    public LoadBudget(string file, long fileLength)
    {
        _file = file;
        FileLength = fileLength;
        Limit = checked(fileLength * BytesPerFileByte + Slack);
    }

    public long FileLength { get; }

    public long Limit { get; }

    /// <summary>Bytes allocated so far by this load (on this thread).</summary>
    public long Allocated => GC.GetAllocatedBytesForCurrentThread() - _start;

    /// <summary>Whether <paramref name="more"/> bytes may still be allocated (cheap: called at every pickle opcode).</summary>
    public bool Fits(Int128 more) => Allocated + _promised + more <= Limit;

    /// <summary>Refuses when allocating <paramref name="more"/> bytes now would pass the limit.</summary>
    public void Ensure(Int128 more, string what)
    {
        if (!Fits(more)) throw Refusal(more, what);
    }

    /// <summary>Like <see cref="Ensure"/>, and keeps the bytes reserved for an allocation made later.</summary>
    public void Promise(Int128 bytes, string what)
    {
        Ensure(bytes, what);
        _promised += (long)bytes;
    }

    /// <summary>Releases a promise once its allocation has been made (and is counted as allocated).</summary>
    public void Fulfil(long bytes) => _promised = Math.Max(0, _promised - bytes);

    /// <summary>The error for an allocation of <paramref name="more"/> bytes that does not fit.</summary>
    public CheckpointFormatException Refusal(Int128 more, string what) =>
        new(_file, null,
            $"{what} would need {more} more bytes after {Allocated + _promised} already used, but reading a {FileLength}-byte " +
            $"checkpoint may use at most {Limit} ({BytesPerFileByte} × its size + {Slack >> 20} MiB); refusing a file that " +
            "expands far beyond its size (a deflated entry, a huge pickle, or an expanded tensor materialised in full)");
}
