using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

/// <summary>Memory statistics of a GPU backend's caching allocator.</summary>
/// <param name="BytesInUse">Bytes held by live storages (bucket sizes, not requested sizes).</param>
/// <param name="BytesCached">Bytes of freed buffers kept for reuse.</param>
/// <param name="PeakBytesInUse">The largest <paramref name="BytesInUse"/> seen (since the last reset).</param>
/// <param name="DeviceAllocations">Buffers allocated from the device (cache misses).</param>
/// <param name="Requests">Allocations asked of the allocator (hits and misses).</param>
public readonly record struct GpuMemoryStats(long BytesInUse, long BytesCached, long PeakBytesInUse, long DeviceAllocations, long Requests);

/// <summary>
/// A caching allocator (PyTorch's idea): device buffers are never freed when a storage dies but go to a free list of
/// their size bucket, and the next request of that bucket reuses one. A device allocation costs tens of microseconds
/// and synchronises the device; tensor programs allocate the same sizes every step.
/// Buckets: multiples of 512 bytes up to 1 MiB, then quarter steps between powers of two (at most 25% waste).
/// One stream per backend makes reuse safe: a buffer freed on the host is reused only by work enqueued later on the
/// same stream, which runs after every earlier use.
/// </summary>
internal sealed class CachingAllocator(Accelerator accelerator)
{
    private readonly Dictionary<long, Stack<MemoryBuffer1D<float, Stride1D.Dense>>> _free = new();
    // Buffers rented out. Rooting them here matters: ILGPU buffers have finalizers, and a storage and its buffer become
    // unreachable together, so without this root the buffer's finalizer could free device memory that the storage's
    // finalizer then puts back on a free list.
    private readonly HashSet<MemoryBuffer1D<float, Stride1D.Dense>> _rented = new(ReferenceEqualityComparer.Instance);
    private readonly object _gate = new();
    private long _inUse, _cached, _peak, _deviceAllocations, _requests;

    /// <summary>The bucket (bytes) a request of <paramref name="bytes"/> is served from.</summary>
    public static long BucketBytes(long bytes)
    {
        if (bytes <= 512) return 512;
        if (bytes <= 1 << 20) return (bytes + 511) & ~511L;
        long p = 1L << (63 - (int)long.LeadingZeroCount(bytes)); // highest power of two ≤ bytes
        long step = p / 4;
        return (bytes + step - 1) / step * step;
    }

    /// <summary>A buffer of at least <paramref name="floats"/> floats; <paramref name="freshBytes"/> is its size when it
    /// was allocated from the device (0 when the cache served it).</summary>
    public MemoryBuffer1D<float, Stride1D.Dense> Rent(int floats, out long freshBytes)
    {
        freshBytes = 0;
        long bucket = BucketBytes(4L * Math.Max(1, floats));
        lock (_gate)
        {
            _requests++;
            if (_free.TryGetValue(bucket, out var list) && list.TryPop(out var reused))
            {
                _cached -= bucket;
                Use(bucket, reused);
                return reused;
            }
        }
        var buffer = AllocateDevice(bucket / 4);
        freshBytes = bucket;
        lock (_gate)
        {
            _deviceAllocations++;
            Use(bucket, buffer);
        }
        return buffer;
    }

    private void Use(long bucket, MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        _rented.Add(buffer);
        // Tell the GC what the (small) storage objects hold, so dead device tensors are collected before the device fills.
        GC.AddMemoryPressure(bucket);
        _inUse += bucket;
        if (_inUse > _peak) _peak = _inUse;
    }

    private MemoryBuffer1D<float, Stride1D.Dense> AllocateDevice(long floats)
    {
        try { return accelerator.Allocate1D<float>(floats); }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException)
        {
            // Dead storages may wait for the finalizer: collect them, give all cached buffers back, and try once more.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            EmptyCache();
            return accelerator.Allocate1D<float>(floats);
        }
    }

    /// <summary>Takes back a buffer from a dead storage (any thread, the finalizer's included).</summary>
    public void Return(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        long bucket = buffer.LengthInBytes;
        lock (_gate)
        {
            if (!_rented.Remove(buffer)) return;
            GC.RemoveMemoryPressure(bucket);
            if (!_free.TryGetValue(bucket, out var list)) _free[bucket] = list = new();
            list.Push(buffer);
            _inUse -= bucket;
            _cached += bucket;
        }
    }

    /// <summary>Frees every cached buffer back to the device.</summary>
    public void EmptyCache()
    {
        List<MemoryBuffer1D<float, Stride1D.Dense>> all;
        lock (_gate)
        {
            all = _free.Values.SelectMany(s => s).ToList();
            _free.Clear();
            _cached = 0;
        }
        foreach (var b in all) b.Dispose();
    }

    /// <summary>The current statistics.</summary>
    public GpuMemoryStats Stats
    {
        get { lock (_gate) return new(_inUse, _cached, _peak, _deviceAllocations, _requests); }
    }

    /// <summary>Restarts the peak at the current use.</summary>
    public void ResetPeak()
    {
        lock (_gate) _peak = _inUse;
    }
}
