namespace Sifa.Tensors;

/// <summary>The kind of hardware a tensor's storage lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, computed by the CPU backend (SIMD kernels on every core).</summary>
    Cpu,
    /// <summary>An NVIDIA GPU, computed by the ILGPU backend through the CUDA driver.</summary>
    Cuda,
    /// <summary>
    /// ILGPU's CPU accelerator: the GPU backend's kernels run on host threads that simulate a GPU's groups and
    /// barriers. Slow; it exists so that every GPU kernel is tested on a machine without a GPU.
    /// </summary>
    IlgpuCpu,
}

/// <summary>A device: its kind and ordinal (<c>cpu</c>, <c>cuda:0</c>, <c>ilgpu-cpu</c>).</summary>
/// <param name="Kind">The hardware kind.</param>
/// <param name="Index">The device ordinal (0 for the CPU and the ILGPU CPU accelerator).</param>
public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static readonly Device Cpu = new(DeviceKind.Cpu);

    /// <summary>The first CUDA GPU.</summary>
    public static readonly Device Cuda = new(DeviceKind.Cuda);

    /// <summary>ILGPU's CPU accelerator (GPU kernels simulated on the host).</summary>
    public static readonly Device IlgpuCpu = new(DeviceKind.IlgpuCpu);

    /// <summary>Whether tensors on this device live in host memory that the CPU can read directly.</summary>
    public bool IsHost => Kind == DeviceKind.Cpu;

    /// <summary>The names <see cref="Parse"/> accepts, for help texts and error messages.</summary>
    public const string Names = "'cpu', 'cuda', 'cuda:N' or 'ilgpu-cpu'";

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> (also <c>gpu</c>) or <c>ilgpu-cpu</c>.</summary>
    /// <exception cref="ArgumentException">The text names no device.</exception>
    public static Device Parse(string text)
    {
        if (TryParse(text, out var d)) return d;
        throw new ArgumentException($"unknown device '{text}': expected {Names}");
    }

    /// <summary>Parses a device name without throwing.</summary>
    public static bool TryParse(string? text, out Device device)
    {
        device = Cpu;
        var t = (text ?? "").Trim().ToLowerInvariant();
        switch (t)
        {
            case "cpu": return true;
            case "cuda" or "gpu": device = Cuda; return true;
            case "ilgpu-cpu": device = IlgpuCpu; return true;
        }
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0)
        {
            device = new Device(DeviceKind.Cuda, i);
            return true;
        }
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.IlgpuCpu => "ilgpu-cpu",
        _ => $"cuda:{Index}",
    };
}
