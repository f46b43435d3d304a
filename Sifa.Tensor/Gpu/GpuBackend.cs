using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Sifa.Tensors.Gpu;

/// <summary>
/// The GPU backend: ILGPU kernels on a CUDA GPU (<c>cuda:N</c>) or on ILGPU's CPU accelerator (<c>ilgpu-cpu</c>, for
/// tests). One accelerator and one stream per backend; launches are asynchronous on the stream and the host waits
/// only where it reads values back (<see cref="CopyToHost"/>). Memory comes from a caching allocator.
/// </summary>
public sealed partial class GpuBackend : IBackend, IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly CachingAllocator _allocator;

    private GpuBackend(Device device, Accelerator accelerator)
    {
        Device = device;
        _accelerator = accelerator;
        _stream = accelerator.CreateStream();
        _allocator = new CachingAllocator(accelerator);
        _cuBlas = new(CreateCuBlas);
    }

    /// <summary>Creates the backend of a GPU device; <see cref="NotSupportedException"/> (one line) when it cannot run.</summary>
    public static GpuBackend Create(Device device) => new(device, GpuRuntime.CreateAccelerator(device));

    /// <inheritdoc/>
    public Device Device { get; }

    /// <summary>The accelerator's name (e.g. the GPU model).</summary>
    public string AcceleratorName => _accelerator.Name;

    /// <summary>Whether this backend runs on a CUDA GPU (not on ILGPU's CPU simulator).</summary>
    public bool IsCuda => _accelerator is CudaAccelerator;

    internal Accelerator Accelerator => _accelerator;

    // Every launch and copy goes through this property. CUDA calls need the accelerator's context current on the calling
    // thread; binding here (a thread-static check when already bound) makes the backend usable from any thread.
    internal AcceleratorStream Stream
    {
        get
        {
            _accelerator.Bind();
            return _stream;
        }
    }

    /// <summary>The largest group (threads) a grouped kernel may use on this accelerator, capped at 256.</summary>
    internal int MaxGroupSize => Math.Min(256, _accelerator.MaxNumThreadsPerGroup);

    /// <summary>Statistics of the caching allocator.</summary>
    public GpuMemoryStats MemoryStats => _allocator.Stats;

    /// <summary>Frees every cached (unused) device buffer.</summary>
    public void EmptyCache() => _allocator.EmptyCache();

    /// <summary>Restarts <see cref="GpuMemoryStats.PeakBytesInUse"/> at the current use.</summary>
    public void ResetPeakMemory() => _allocator.ResetPeak();

    /// <summary>Waits until every queued kernel and copy has finished.</summary>
    public void Synchronize() => Stream.Synchronize();

    /// <summary>The dense view of <paramref name="t"/>'s values from its offset; <paramref name="t"/> must be contiguous
    /// (callers call <c>Contiguous()</c> first) and live on this backend.</summary>
    internal ArrayView<float> View(Tensor t)
    {
        if (!t.IsContiguous) throw new ArgumentException($"GPU kernel needs a contiguous tensor (shape {Tensor.Fmt(t.Shape)}, strides {Tensor.Fmt(t.Strides)})");
        return Whole(t).SubView(t.Offset, t.Numel);
    }

    /// <summary>The whole storage of <paramref name="t"/> (for strided kernels, which index it with offsets and strides).</summary>
    internal ArrayView<float> Whole(Tensor t)
    {
        if (t.Storage is not GpuStorage s || s.Device != Device)
            throw new InvalidOperationException($"a {Device} kernel received a tensor on {t.Device}");
        return s.View;
    }

    /// <summary>A new uninitialised dense tensor on this device.</summary>
    internal Tensor Empty(params int[] shape) => Tensor.Empty(shape, Device);

    /// <summary>A new zero-filled dense tensor on this device.</summary>
    internal Tensor Zeros(params int[] shape) => Tensor.Zeros(shape, Device);

    /// <summary>A dense shape viewed as (outer, size of dim, inner): the layout of the per-dim kernels.</summary>
    internal static (int outer, int n, int inner) SplitAt(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, shape[dim], inner);
    }

    /// <summary>The error for an op this backend does not have.</summary>
    internal NotSupportedException NotImplemented(string op) => new($"{op} is not implemented on {Device}");

    /// <inheritdoc/>
    public Storage Allocate(int length, bool zero)
    {
        var buffer = _allocator.Rent(length, out long fresh);
        var s = new GpuStorage(buffer, length, _allocator, Device);
        // Inside a scope the scope returns the buffer (at its end, or at a safe point once the storage is dead).
        if (TensorScope.Current is { } scope) scope.Track(s, new PooledDeviceBuffer(_allocator, buffer), fresh);
        if (zero && length > 0) s.View.MemSetToZero(Stream);
        return s;
    }

    /// <inheritdoc/>
    public unsafe Storage FromHost(ReadOnlySpan<float> data)
    {
        var s = (GpuStorage)Allocate(data.Length, zero: false);
        if (data.Length == 0) return s;
        // The span may be freed as soon as this returns: on CUDA a copy from pageable memory returns once the data is
        // staged; the CPU accelerator copies at once. So no stream synchronisation is needed here.
        fixed (float* p = data) s.View.CopyFromCPUUnsafeAsync(Stream, ref *p, data.Length);
        return s;
    }

    /// <inheritdoc/>
    public unsafe void CopyToHost(Tensor src, Span<float> dst)
    {
        if (dst.Length != src.Numel) throw new ArgumentException("destination length differs from the tensor's element count");
        if (src.Numel == 0) return;
        var c = src.Contiguous();
        fixed (float* p = dst) View(c).CopyToCPU(Stream, ref *p, dst.Length); // waits for the stream
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (!src.Shape.AsSpan().SequenceEqual(dst.Shape))
            throw new ArgumentException($"copy between shapes {Tensor.Fmt(src.Shape)} and {Tensor.Fmt(dst.Shape)}");
        if (src.Numel == 0) return;
        if (src.IsContiguous && dst.IsContiguous)
        {
            View(src).CopyTo(Stream, View(dst));
            return;
        }
        var ix = StridedIndex.For(src, dst);
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, StridedIndex>(CoreKernels.CopyStrided)(Stream, src.Numel, Whole(src), Whole(dst), ix);
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, float value)
    {
        if (dst.Numel == 0) return;
        if (dst.IsContiguous)
        {
            if (value == 0 && !float.IsNegative(value)) View(dst).MemSetToZero(Stream);
            else Kernel<Index1D, ArrayView<float>, float>(CoreKernels.Fill)(Stream, dst.Numel, View(dst), value);
            return;
        }
        Kernel<Index1D, ArrayView<float>, StridedIndex, float>(CoreKernels.FillStrided)(Stream, dst.Numel, Whole(dst), StridedIndex.For(dst), value);
    }

    /// <summary>Frees the stream, every cached buffer and the accelerator.</summary>
    public void Dispose()
    {
        _stream.Synchronize();
        if (_cuBlas.IsValueCreated) _cuBlas.Value?.Dispose();
        _allocator.EmptyCache();
        _stream.Dispose();
        _accelerator.Dispose();
    }
}

/// <summary>Kernels of the backend's core operations.</summary>
internal static class CoreKernels
{
    public static void CopyStrided(Index1D i, ArrayView<float> src, ArrayView<float> dst, StridedIndex ix)
    {
        ix.Offsets(i, out int s, out int d);
        dst[d] = src[s];
    }

    public static void Fill(Index1D i, ArrayView<float> dst, float value) => dst[i] = value;

    public static void FillStrided(Index1D i, ArrayView<float> dst, StridedIndex ix, float value) => dst[ix.OffsetOfA(i)] = value;
}
