using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

/// <summary>
/// Device memory of one GPU backend: a buffer rented from its caching allocator. The buffer goes back to the cache when
/// the storage is disposed or collected (the GC does not see device memory, so the allocator collects on exhaustion).
/// </summary>
internal sealed class GpuStorage : Storage, IDisposable
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

    ~GpuStorage() => ReturnBuffer();

    /// <inheritdoc/>
    public override Device Device => _device;

    /// <inheritdoc/>
    public override int Length => _length;

    /// <summary>The dense view of the storage's <see cref="Length"/> floats.</summary>
    public ArrayView<float> View
    {
        get
        {
            ArrayView<float> whole = (_buffer ?? throw new ObjectDisposedException(nameof(GpuStorage),
                $"a GPU buffer of {_length} floats was used after it was disposed")).View;
            return whole.SubView(0, _length);
        }
    }

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc/>
    protected override void OnReleased(bool returnBuffer)
    {
        if (returnBuffer) ReturnBuffer();
        else _buffer = null;
    }

    private void ReturnBuffer()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b != null) _allocator.Return(b);
    }
}
