namespace Sifa.Tensors;

/// <summary>A flat buffer of float32 values owned by one device. Tensors are views over a storage.</summary>
public abstract class Storage
{
    /// <summary>The device that holds the values.</summary>
    public abstract Device Device { get; }

    /// <summary>The number of float32 values.</summary>
    public abstract int Length { get; }
}

/// <summary>Host memory storage: a managed float array.</summary>
public sealed class CpuStorage : Storage
{
    /// <summary>Wraps an existing array (no copy).</summary>
    /// <param name="data">The values.</param>
    public CpuStorage(float[] data) => Data = data;

    /// <summary>The values.</summary>
    public float[] Data { get; }

    /// <inheritdoc/>
    public override Device Device => Device.Cpu;

    /// <inheritdoc/>
    public override int Length => Data.Length;
}
