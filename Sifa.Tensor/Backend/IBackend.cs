namespace Sifa.Tensors;

/// <summary>
/// The seam between tensors and hardware: every primitive that touches values goes through the
/// backend of the tensor's device. The interface is split over files by op family (partial).
/// </summary>
public partial interface IBackend
{
    /// <summary>The device this backend computes on.</summary>
    Device Device { get; }

    /// <summary>Allocates a buffer of <paramref name="length"/> floats.</summary>
    /// <param name="length">Number of floats.</param>
    /// <param name="zero">Whether the values must be zero.</param>
    /// <returns>The storage.</returns>
    Storage Allocate(int length, bool zero);

    /// <summary>Copies host values into a new storage on this device.</summary>
    /// <param name="data">The values.</param>
    /// <returns>The storage.</returns>
    Storage FromHost(ReadOnlySpan<float> data);

    /// <summary>Copies a tensor's values (any layout) to host memory in row-major order.</summary>
    /// <param name="src">The tensor.</param>
    /// <param name="dst">The destination, <c>src.Numel</c> long.</param>
    void CopyToHost(Tensor src, Span<float> dst);

    /// <summary>Copies <paramref name="src"/> into <paramref name="dst"/> (same shape, any strides).</summary>
    /// <param name="src">The source.</param>
    /// <param name="dst">The destination.</param>
    void Copy(Tensor src, Tensor dst);

    /// <summary>Sets every element of <paramref name="dst"/> to <paramref name="value"/>.</summary>
    /// <param name="dst">The tensor.</param>
    /// <param name="value">The value.</param>
    void Fill(Tensor dst, float value);
}

/// <summary>Finds the backend for a device. A GPU backend registers itself here.</summary>
public static class Backends
{
    private static readonly Dictionary<Device, IBackend> Registered = new();
    private static readonly object Gate = new();

    /// <summary>The CPU backend.</summary>
    public static IBackend Cpu { get; } = new Cpu.CpuBackend();

    /// <summary>Registers a backend for its device (replacing any earlier one).</summary>
    /// <param name="backend">The backend.</param>
    public static void Register(IBackend backend)
    {
        lock (Gate) Registered[backend.Device] = backend;
    }

    /// <summary>Factory called for a non-CPU device that has no backend yet (set by a GPU backend package).</summary>
    public static Func<Device, IBackend>? Factory { get; set; }

    /// <summary>The backend for a device; a clear error when none is available.</summary>
    /// <param name="device">The device.</param>
    /// <returns>The backend.</returns>
    public static IBackend For(Device device)
    {
        if (device.Kind == DeviceKind.Cpu) return Cpu;
        lock (Gate)
        {
            if (Registered.TryGetValue(device, out var b)) return b;
            if (Factory != null)
            {
                b = Factory(device);
                Registered[device] = b;
                return b;
            }
        }
        throw new NotSupportedException($"No backend for device {device}: this build has only the CPU backend registered.");
    }

    /// <summary>The backend for a device, or false with the reason it is unavailable (no driver, no device, not built in).</summary>
    public static bool TryGet(Device device, out IBackend? backend)
    {
        try { backend = For(device); return true; }
        catch (NotSupportedException) { backend = null; return false; }
    }
}
