namespace Sifa.Tensors;

/// <summary>
/// An explicit lifetime for the tensors of one unit of work, typically a training step:
/// <code>using (TensorScope.Begin()) { forward; backward; optimizer step; }</code>
/// Large CPU tensors allocated on this thread inside the scope take their arrays from <see cref="BufferPool"/>; when
/// the scope ends they all go back, and their storages become invalid: touching such a tensor afterwards throws
/// <see cref="ObjectDisposedException"/> instead of reading another step's data. Tensors that must outlive the
/// scope are passed to <see cref="Keep"/> (or created under <see cref="Suspend"/>, as optimizer state is).
/// Scopes nest (an inner one releases only its own tensors) and belong to the thread that began them.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    [ThreadStatic] private static int _suspended;
    private static long _sequence;

    private readonly TensorScope? _parent;
    private readonly List<CpuStorage> _owned = new();
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private bool _ended;

    private TensorScope(TensorScope? parent) => _parent = parent;

    /// <summary>The innermost scope of this thread (null when none, or while suspended).</summary>
    public static TensorScope? Current => _suspended > 0 ? null : _current;

    /// <summary>
    /// An increasing allocation counter: storages allocated after a mark have a larger <see cref="CpuStorage.Sequence"/>.
    /// The autograd engine releases early only buffers allocated during its own backward pass.
    /// </summary>
    public static long Mark => Interlocked.Read(ref _sequence);

    /// <summary>Starts a scope on this thread (inside the current one, if any).</summary>
    /// <returns>The scope; dispose it to release its tensors.</returns>
    public static TensorScope Begin() => _current = new TensorScope(_current);

    /// <summary>
    /// Allocations on this thread bypass every scope until the returned object is disposed: for long-lived tensors
    /// created in the middle of a step (optimizer state, cached masks).
    /// </summary>
    /// <returns>Dispose to end the suspension.</returns>
    public static IDisposable Suspend()
    {
        _suspended++;
        return new Resume();
    }

    private sealed class Resume : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _suspended--;
        }
    }

    /// <summary>Number of tensors (storages) this scope will release.</summary>
    public int Count => _owned.Count;

    internal CpuStorage Allocate(int length, bool zero)
    {
        var data = BufferPool.Rent(length);
        if (zero) Array.Clear(data);
        var s = new CpuStorage(data, this, Interlocked.Increment(ref _sequence));
        _owned.Add(s);
        return s;
    }

    /// <summary>
    /// Lets a tensor outlive the scope: its array is no longer returned to the pool (the GC owns it, as for any
    /// tensor allocated outside a scope). Views share the storage, so they are kept too.
    /// </summary>
    /// <param name="tensor">The tensor.</param>
    /// <returns>The same tensor.</returns>
    public static Tensor Keep(Tensor tensor)
    {
        if (tensor.Storage is CpuStorage { Scope: not null } s)
        {
            s.CheckAlive();
            s.Scope = null;
        }
        return tensor;
    }

    /// <summary>
    /// Gives a tensor's array back before its scope ends. Only for buffers the caller knows nobody else references
    /// (the autograd engine uses it for consumed gradients); a later access through any view throws.
    /// </summary>
    /// <param name="tensor">The tensor.</param>
    /// <returns>True when the storage was pooled and is now released.</returns>
    public static bool Release(Tensor tensor)
    {
        if (tensor.Storage is not CpuStorage { Scope: { } scope } s || s.IsReleased) return false;
        if (scope._thread != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException("a tensor can only be released on the thread that owns its scope");
        BufferPool.Return(s.Release());
        return true;
    }

    /// <summary>Whether a tensor holds a pooled, not yet released array allocated after <paramref name="mark"/>.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="mark">A value of <see cref="Mark"/>.</param>
    /// <returns>True when <see cref="Release"/> would give its array back.</returns>
    public static bool IsPooledSince(Tensor tensor, long mark) =>
        tensor.Storage is CpuStorage { Scope: not null, IsReleased: false } s && s.Sequence > mark;

    /// <summary>Ends the scope: every tensor allocated in it and not kept returns its array to the pool.</summary>
    public void Dispose()
    {
        if (_ended) return;
        if (_thread != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException("a TensorScope must be disposed on the thread that began it");
        if (_current != this)
            throw new InvalidOperationException("TensorScopes must end in reverse order of their start (an inner scope is still open)");
        _ended = true;
        _current = _parent;
        foreach (var s in _owned)
            if (ReferenceEquals(s.Scope, this) && !s.IsReleased) BufferPool.Return(s.Release());
        _owned.Clear();
    }
}
