namespace Sifa.Tensors;

/// <summary>The kind of hardware a tensor's storage lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, computed by the CPU backend.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU, computed by the CUDA backend.</summary>
    Cuda,
}

/// <summary>A device: its kind and ordinal (<c>cpu</c>, <c>cuda:0</c>).</summary>
/// <param name="Kind">The hardware kind.</param>
/// <param name="Index">The device ordinal (0 for the CPU).</param>
public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static readonly Device Cpu = new(DeviceKind.Cpu);

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    /// <param name="text">The device name.</param>
    /// <returns>The device.</returns>
    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda" || t == "gpu") return new Device(DeviceKind.Cuda, 0);
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(t.AsSpan(5), out var i) && i >= 0)
            return new Device(DeviceKind.Cuda, i);
        throw new ArgumentException($"Unknown device '{text}': expected 'cpu', 'cuda' or 'cuda:N'.", nameof(text));
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";
}
