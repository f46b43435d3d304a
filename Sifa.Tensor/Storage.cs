namespace Sifa.Tensors;

/// <summary>A flat buffer of float32 values owned by one device. Tensors are views over a storage.</summary>
public abstract class Storage
{
    /// <summary>The device that holds the values.</summary>
    public abstract Device Device { get; }

    /// <summary>The number of float32 values.</summary>
    public abstract int Length { get; }
}

/// <summary>
/// Host memory storage: a managed float array. One allocated inside a <see cref="TensorScope"/> holds a pooled array
/// until the scope ends (or it is released), after which any access throws.
/// </summary>
public sealed class CpuStorage : Storage
{
    private float[]? _data;
    private readonly int _length;

    /// <summary>Wraps an existing array (no copy).</summary>
    /// <param name="data">The values.</param>
    public CpuStorage(float[] data)
    {
        _data = data;
        _length = data.Length;
    }

    internal CpuStorage(float[] data, TensorScope owner, TensorScope.Entry entry, long sequence) : this(data)
    {
        Owner = owner;
        Entry = entry;
        Sequence = sequence;
    }

    /// <summary>The values.</summary>
    /// <exception cref="ObjectDisposedException">The storage was released with its scope.</exception>
    public float[] Data => _data ?? throw Released();

    /// <summary>Whether the array went back to the pool (the tensor is no longer usable).</summary>
    public bool IsReleased => _data == null;

    /// <summary>Allocation number within scopes (0 for arrays not from a scope); see <see cref="TensorScope.Mark"/>.</summary>
    public long Sequence { get; }

    // The scope that allocated the array and its record there (Entry null: owned by the GC, e.g. after Keep).
    internal TensorScope? Owner { get; }

    internal TensorScope.Entry? Entry { get; set; }

    /// <inheritdoc/>
    public override Device Device => Device.Cpu;

    /// <inheritdoc/>
    public override int Length => _length;

    internal void CheckAlive()
    {
        if (_data == null) throw Released();
    }

    internal float[] Release()
    {
        var d = _data ?? throw Released();
        _data = null;
        return d;
    }

    private ObjectDisposedException Released() => new(nameof(CpuStorage),
        $"a tensor buffer of {_length} floats was used after its TensorScope ended (or after backward released it); " +
        "keep it with TensorScope.Keep, create it under TensorScope.Suspend, or copy it before the scope ends");
}
