namespace Sifa.Tensors;

/// <summary>
/// Finds the backend for a device. Backends register themselves when the assembly loads (the CPU backend and the ILGPU
/// backend do it from module initializers), so nothing above the seam names a backend type.
/// </summary>
public static class Backends
{
    private static readonly Dictionary<Device, IBackend> Registered = new();
    private static readonly Dictionary<DeviceKind, Func<Device, IBackend>> Factories = new();
    private static readonly object Gate = new();
    private static IBackend? _cpu;

    /// <summary>The backend of the host CPU.</summary>
    public static IBackend Cpu => _cpu ?? For(Device.Cpu);

    /// <summary>Registers a backend for its device (replacing any earlier one).</summary>
    public static void Register(IBackend backend)
    {
        lock (Gate)
        {
            Registered[backend.Device] = backend;
            if (backend.Device == Device.Cpu) _cpu = backend;
        }
    }

    /// <summary>
    /// Registers how to create the backend of a device kind on first use. The factory throws
    /// <see cref="NotSupportedException"/> with a one-line reason when the device is unavailable (no driver, no device).
    /// </summary>
    public static void RegisterFactory(DeviceKind kind, Func<Device, IBackend> factory)
    {
        lock (Gate) Factories[kind] = factory;
    }

    /// <summary>The backend for a device.</summary>
    /// <exception cref="NotSupportedException">The device is unavailable; the message says why in one line.</exception>
    public static IBackend For(Device device)
    {
        if (device == Device.Cpu && _cpu != null) return _cpu;
        lock (Gate)
        {
            if (Registered.TryGetValue(device, out var b)) return b;
            if (Factories.TryGetValue(device.Kind, out var factory))
            {
                b = factory(device);
                Registered[device] = b;
                return b;
            }
        }
        throw new NotSupportedException($"no backend for device {device}: this build of Sifa has none for '{device.Kind}'");
    }

    /// <summary>The backend for a device, or false when it is unavailable (<see cref="For"/> says why).</summary>
    public static bool TryGet(Device device, out IBackend? backend)
    {
        try { backend = For(device); return true; }
        catch (NotSupportedException) { backend = null; return false; }
    }
}
