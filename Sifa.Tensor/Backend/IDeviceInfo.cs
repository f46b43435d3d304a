namespace Sifa.Tensors;

/// <summary>Memory statistics of a backend's allocator, in bytes (zero where a backend does not count).</summary>
/// <param name="BytesInUse">Bytes held by live storages (as the allocator rounds them, not as requested).</param>
/// <param name="BytesCached">Bytes of freed buffers kept for reuse.</param>
/// <param name="PeakBytesInUse">The largest <paramref name="BytesInUse"/> seen since the last <see cref="IDeviceInfo.ResetPeakMemory"/>.</param>
/// <param name="DeviceAllocations">Buffers allocated from the device (cache misses).</param>
/// <param name="Requests">Allocations asked of the allocator (hits and misses).</param>
public readonly record struct DeviceMemoryStats(long BytesInUse, long BytesCached, long PeakBytesInUse, long DeviceAllocations, long Requests);

/// <summary>
/// What a backend says about its hardware, and the few controls that timings and memory checks need, so that tools above
/// the seam (the CLI's <c>bench gpu</c>) never name a backend type. Obtain it with <c>Backends.For(device) as IDeviceInfo</c>.
/// </summary>
public interface IDeviceInfo
{
    /// <summary>The device's name (e.g. the GPU model).</summary>
    string Name { get; }

    /// <summary>
    /// One line of facts that explain results: for a GPU the driver, compute capability, what ILGPU chose (accelerator
    /// type, instruction set) and whether cuBLAS was found and in which math mode.
    /// </summary>
    string Details { get; }

    /// <summary>The allocator's current statistics.</summary>
    DeviceMemoryStats Memory { get; }

    /// <summary>Restarts <see cref="DeviceMemoryStats.PeakBytesInUse"/> at the current use.</summary>
    void ResetPeakMemory();

    /// <summary>Frees every cached (unused) buffer.</summary>
    void EmptyCache();

    /// <summary>Waits until every queued kernel and copy has finished (for honest timings of asynchronous devices).</summary>
    void Synchronize();

    /// <summary>
    /// Whether matrix products go through the vendor library (cuBLAS). Setting false forces the backend's own kernel
    /// (in-process A/B timing); setting true again takes effect only where the library loaded.
    /// </summary>
    bool VendorMatmul { get; set; }
}
