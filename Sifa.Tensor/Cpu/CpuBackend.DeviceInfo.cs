using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// The seam's view of the CPU backend (IDeviceInfo): synchronous, so Synchronize has nothing to wait for; memory is the
// managed heap, of which only the buffer pool's cached bytes are the backend's own count.
public sealed partial class CpuBackend : IDeviceInfo
{
    /// <inheritdoc/>
    public string Name => "CPU";

    /// <inheritdoc/>
    public string Details =>
        $"threads={Environment.ProcessorCount} vector_floats={Vector<float>.Count} avx2={Avx2.IsSupported} avx512f={Avx512F.IsSupported} fma={Fma.IsSupported}";

    /// <inheritdoc/>
    public DeviceMemoryStats Memory => new(0, BufferPool.PooledBytes, 0, BufferPool.Misses, BufferPool.Hits + BufferPool.Misses);

    /// <inheritdoc/>
    public void ResetPeakMemory() { }

    /// <inheritdoc/>
    public void EmptyCache() => BufferPool.Clear();

    /// <inheritdoc/>
    public void Synchronize() { }

    /// <inheritdoc/>
    public bool VendorMatmul { get => false; set { } }
}
