namespace Sifa.Tensors;

/// <summary>
/// A flat buffer of float32 values owned by one device; tensors are views over a storage. Every backend's storage
/// has the same lifetime rules: it can be released explicitly (<see cref="Release"/>), by the <see cref="TensorScope"/>
/// that allocated it, or by the GC; once released, any use throws instead of reading another tensor's values.
/// </summary>
public abstract class Storage
{
    /// <summary>The device that holds the values.</summary>
    public abstract Device Device { get; }

    /// <summary>The number of float32 values.</summary>
    public abstract int Length { get; }

    /// <summary>Whether the buffer was given back (the tensors over it are no longer usable).</summary>
    public bool IsReleased { get; private set; }

    /// <summary>Allocation number within scopes (0 for buffers not from a scope); see <see cref="TensorScope.Mark"/>.</summary>
    public long Sequence { get; internal set; }

    // The scope that allocated the buffer and its record there (Entry null: owned by the GC, e.g. after Keep).
    internal TensorScope? Owner { get; set; }

    internal TensorScope.Entry? Entry { get; set; }

    /// <summary>
    /// Gives the buffer back now: to its scope's pool when a scope allocated it, else to the allocator that made it.
    /// Only for buffers nobody else references; a later access through any view throws. Releasing twice does nothing.
    /// </summary>
    public void Release()
    {
        if (IsReleased) return;
        if (Owner != null && Entry != null) { Owner.ReleaseTracked(this, Entry); return; }
        Invalidate(returnBuffer: true);
    }

    internal void Invalidate(bool returnBuffer)
    {
        if (IsReleased) return;
        IsReleased = true;
        OnReleased(returnBuffer);
    }

    /// <summary>
    /// Called once, when the storage is released: forget the buffer, so that later use throws, and when
    /// <paramref name="returnBuffer"/> is set give it back to the allocator that made it (a scope returns the buffers
    /// it tracks itself, so it passes false).
    /// </summary>
    protected abstract void OnReleased(bool returnBuffer);

    /// <summary>Throws when the storage was released.</summary>
    protected void CheckAlive()
    {
        if (IsReleased) throw Released();
    }

    /// <summary>The error for a use after release.</summary>
    protected ObjectDisposedException Released() => new(GetType().Name,
        $"a tensor buffer of {Length} floats on {Device} was used after its TensorScope ended (or after backward released it); " +
        "keep it with TensorScope.Keep, create it under TensorScope.Suspend, or copy it before the scope ends");
}

/// <summary>
/// A buffer that a <see cref="TensorScope"/> hands back to its backend's pool when the storage using it ends
/// (host arrays go to <see cref="BufferPool"/>; a GPU backend returns device memory to its caching allocator).
/// </summary>
public interface IPooledBuffer
{
    /// <summary>Gives the buffer back. Called once; the caller holds no reference afterwards.</summary>
    void ReturnToPool();
}

/// <summary>Host memory: a managed float array. Every backend copies to and from host memory through it.</summary>
public sealed class CpuStorage : Storage
{
    private float[]? _data;
    private readonly int _length;

    /// <summary>Wraps an existing array (no copy).</summary>
    public CpuStorage(float[] data)
    {
        _data = data;
        _length = data.Length;
    }

    /// <summary>The values.</summary>
    /// <exception cref="ObjectDisposedException">The storage was released.</exception>
    public float[] Data => _data ?? throw Released();

    /// <inheritdoc/>
    public override Device Device => Device.Cpu;

    /// <inheritdoc/>
    public override int Length => _length;

    /// <inheritdoc/>
    protected override void OnReleased(bool returnBuffer)
    {
        // Host arrays not tracked by a scope belong to the GC: forgetting them is enough.
        _data = null;
    }
}

/// <summary>A host array from <see cref="BufferPool"/>, returned there by its scope.</summary>
internal sealed class PooledArray(float[] array) : IPooledBuffer
{
    public void ReturnToPool() => BufferPool.Return(array);
}
