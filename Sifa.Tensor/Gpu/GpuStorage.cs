using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

/// <summary>
/// Device memory of one GPU backend: a buffer rented from its caching allocator. The buffer goes back to the cache when
/// the storage is released (<see cref="Storage.Release"/>), when the <see cref="TensorScope"/> that allocated it ends or
/// finds it dead, or, outside scopes, when the GC collects the storage.
/// </summary>
internal sealed class GpuStorage : Storage
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;
    private readonly CachingAllocator _allocator;
    private readonly int _length;
    private readonly Device _device;

    public GpuStorage(MemoryBuffer1D<float, Stride1D.Dense> buffer, int length, CachingAllocator allocator, Device device)
    {
        _buffer = buffer;
        _length = length;
        _allocator = allocator;
        _device = device;
    }

    // A scope holds the buffer of a storage it tracks and returns it itself (Sweep); an untracked storage (no scope, or
    // kept with TensorScope.Keep) gives its buffer back here.
    ~GpuStorage()
    {
        if (Entry == null) Invalidate(returnBuffer: true);
    }

    /// <inheritdoc/>
    public override Device Device => _device;

    /// <inheritdoc/>
    public override int Length => _length;

    /// <summary>The dense view of the storage's <see cref="Length"/> floats.</summary>
    public ArrayView<float> View
    {
        get
        {
            ArrayView<float> whole = (_buffer ?? throw Released()).View;
            return whole.SubView(0, _length);
        }
    }

    /// <inheritdoc/>
    protected override void OnReleased(bool returnBuffer)
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (returnBuffer && b != null) _allocator.Return(b);
    }
}

/// <summary>A device buffer a <see cref="TensorScope"/> hands back to the caching allocator.</summary>
internal sealed class PooledDeviceBuffer(CachingAllocator allocator, MemoryBuffer1D<float, Stride1D.Dense> buffer) : IPooledBuffer
{
    public void ReturnToPool() => allocator.Return(buffer);
}
