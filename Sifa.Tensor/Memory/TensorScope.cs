using System.Runtime.InteropServices;

namespace Sifa.Tensors;

/// <summary>
/// An explicit lifetime for the tensors of one unit of work, typically a training step:
/// <code>using (TensorScope.Begin()) { forward; backward; optimizer step; }</code>
/// Large tensors allocated on this thread inside the scope take their buffers from their backend's pool (host arrays
/// from <see cref="BufferPool"/>, device memory from a GPU backend's caching allocator) and give them back
/// <list type="bullet">
/// <item>when the scope ends: every storage still alive becomes invalid, and touching it afterwards throws
/// <see cref="ObjectDisposedException"/> instead of reading another step's data;</item>
/// <item>at the next <see cref="SafePoint"/> after the GC found the storage unreachable (a forward temporary nobody
/// kept), so a step's dead temporaries are reused within the same step instead of piling up until its end;</item>
/// <item>when <see cref="Release"/> is called (the autograd engine does it for gradients it has consumed).</item>
/// </list>
/// Tensors that must outlive the scope are passed to <see cref="Keep"/> (or created under <see cref="Suspend"/>, as
/// optimizer state is). Scopes nest (an inner one releases only its own tensors) and belong to the thread that began them.
/// Inside a scope, do not hold a tensor's raw array or span across ops after dropping the tensor itself.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    [ThreadStatic] private static int _suspended;
    private static long _sequence;

    private readonly TensorScope? _parent;
    private readonly List<Entry> _entries = new();
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private int _gcCount = GC.CollectionCount(0);
    private long _freshBytes, _handedOutBytes;
    private bool _ended;

    // One pooled buffer: a weak handle to the storage using it (cleared by the GC when the storage dies) and the buffer
    // itself, held here so that it outlives its storage until it is back in the pool. Buffer is null once handed back.
    internal sealed class Entry
    {
        public GCHandle Storage;
        public IPooledBuffer? Buffer;
    }

    private TensorScope(TensorScope? parent) => _parent = parent;

    /// <summary>The innermost scope of this thread (null when none, or while suspended).</summary>
    public static TensorScope? Current => _suspended > 0 ? null : _current;

    /// <summary>
    /// New (not recycled) bytes a scope may allocate before the next <see cref="SafePoint"/> runs a collection to find
    /// dead temporaries (environment variable <c>SIFA_COLLECT_MB</c>, default 32 MiB). Bounds how far a step's footprint
    /// can exceed its live set: dead temporaries come back only after a collection, and until then every request of their
    /// length is a fresh array. At 256 MiB sifa-swin-t's peak was 2.87 GB against 2.34 GB at 32 MiB, and its step slower
    /// (fresh arrays are page faults); the collections are non-compacting over few live objects, a few ms per step.
    /// </summary>
    public static long CollectAfterBytes { get; set; } =
        (long.TryParse(Environment.GetEnvironmentVariable("SIFA_COLLECT_MB"), out var mb) ? mb : 32) << 20;

    /// <summary>
    /// Bytes a scope may hand out, recycled or new, before the next <see cref="SafePoint"/> runs a collection (environment
    /// variable <c>SIFA_SWEEP_MB</c>, default 256 MiB; 0: only <see cref="CollectAfterBytes"/> triggers one). A backward
    /// pass is served from the pool, so it allocates nothing new and no collection would run: the activations its nodes
    /// have released would stay unnoticed while the pool hands other arrays to the gradients. Measured (one clip of
    /// 8 × 224², 2 cores): peak 2.32 → 1.89 GB for sifa-swin-t and 1.44 → 1.34 GB for sifa-r50, 1.27 → 1.21 GB for
    /// c2d-r50, at 5–20 ms of collections per step (sifa-swin-t's step also got faster: fewer fresh arrays).
    /// </summary>
    public static long SweepAfterBytes { get; set; } =
        (long.TryParse(Environment.GetEnvironmentVariable("SIFA_SWEEP_MB"), out var smb) ? smb : 256) << 20;

    /// <summary>
    /// An increasing allocation counter: storages allocated after a mark have a larger <see cref="Storage.Sequence"/>.
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

    /// <summary>Number of pooled buffers this scope holds now (in use, or waiting for their dead storage to be noticed).</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// Bytes of the pooled buffers this scope has handed out that are still in use: not given back, their storage not
    /// found dead (collect first to leave out temporaries nobody refers to any more).
    /// </summary>
    public long LiveBytes
    {
        get
        {
            long bytes = 0;
            foreach (var e in _entries)
                if (e.Buffer != null && e.Storage.Target is Storage { IsReleased: false } s) bytes += 4L * s.Length;
            return bytes;
        }
    }

    /// <summary>
    /// Records a storage that a backend allocated inside this scope from its pool: <paramref name="buffer"/> goes back
    /// to that pool when the scope ends, when the storage is released, or when the GC found the storage dead.
    /// </summary>
    /// <param name="storage">The new storage (not yet tracked by any scope).</param>
    /// <param name="buffer">Its buffer's way back to the pool.</param>
    /// <param name="freshBytes">Bytes newly allocated for it (0 when the pool served it): counts towards a collection.</param>
    public void Track(Storage storage, IPooledBuffer buffer, long freshBytes)
    {
        if (storage.Entry != null) throw new InvalidOperationException("the storage is already tracked by a scope");
        var e = new Entry { Buffer = buffer, Storage = GCHandle.Alloc(storage, GCHandleType.Weak) };
        storage.Owner = this;
        storage.Entry = e;
        storage.Sequence = Interlocked.Increment(ref _sequence);
        _freshBytes += freshBytes;
        _handedOutBytes += 4L * storage.Length;
        _entries.Add(e);
    }

    /// <summary>
    /// A point between ops where no kernel holds a raw array: arrays whose storages the GC has found dead since the last
    /// safe point go back to the pool, and after <see cref="CollectAfterBytes"/> of new arrays (or <see cref="SweepAfterBytes"/> of any) a collection is run first.
    /// Called by <c>Variable.FromOp</c> and between the nodes of a backward pass; cheap when nothing changed.
    /// </summary>
    public static void SafePoint()
    {
        var s = _current;
        if (s == null) return;
        if (s._freshBytes > CollectAfterBytes || (SweepAfterBytes > 0 && s._handedOutBytes > SweepAfterBytes))
        {
            for (var t = s; t != null; t = t._parent) { t._freshBytes = 0; t._handedOutBytes = 0; }
            // Non-compacting: the live objects are few (tensors, nodes); the arrays hold no references.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
        int gc = GC.CollectionCount(0);
        if (gc == s._gcCount) return;
        for (var t = s; t != null; t = t._parent)
        {
            t._gcCount = gc;
            t.Sweep();
        }
    }

    // Hands back the arrays of collected storages and forgets entries already handed back or kept.
    private void Sweep()
    {
        int kept = 0;
        for (int i = 0; i < _entries.Count; i++)
        {
            var e = _entries[i];
            if (e.Buffer != null && e.Storage.Target == null)
            {
                e.Buffer.ReturnToPool();
                e.Buffer = null;
            }
            if (e.Buffer == null) e.Storage.Free();
            else _entries[kept++] = e;
        }
        _entries.RemoveRange(kept, _entries.Count - kept);
    }

    /// <summary>
    /// Lets a tensor outlive the scope: its buffer is no longer returned to the pool by the scope (it is owned like any
    /// buffer allocated outside a scope). Views share the storage, so they are kept too.
    /// </summary>
    /// <returns>The same tensor.</returns>
    public static Tensor Keep(Tensor tensor)
    {
        var s = tensor.Storage;
        if (s.Entry is { } e)
        {
            if (s.IsReleased) throw new ObjectDisposedException(s.GetType().Name, "TensorScope.Keep of a tensor whose buffer was already released");
            s.Entry = null;
            e.Buffer = null;
        }
        return tensor;
    }

    /// <summary>
    /// Gives a tensor's buffer back to its pool before its scope ends. Only for buffers the caller knows nobody else
    /// references (the autograd engine uses it for consumed gradients); a later access through any view throws.
    /// </summary>
    /// <returns>True when the storage was pooled by a scope and is now released.</returns>
    public static bool Release(Tensor tensor)
    {
        var s = tensor.Storage;
        if (s.Entry == null || s.Owner == null || s.IsReleased) return false;
        s.Owner.ReleaseTracked(s, s.Entry);
        return true;
    }

    internal void ReleaseTracked(Storage s, Entry e)
    {
        if (_thread != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException("a tensor can only be released on the thread that owns its scope");
        s.Invalidate(returnBuffer: false);
        e.Buffer?.ReturnToPool();
        e.Buffer = null;
    }

    /// <summary>Whether a tensor holds a pooled, not yet released buffer allocated after <paramref name="mark"/>.</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="mark">A value of <see cref="Mark"/>.</param>
    /// <returns>True when <see cref="Release"/> would give its buffer back.</returns>
    public static bool IsPooledSince(Tensor tensor, long mark) =>
        tensor.Storage is { Entry: not null, IsReleased: false } s && s.Sequence > mark;

    /// <summary>Ends the scope: every buffer it still holds returns to the pool, and storages still alive become invalid.</summary>
    public void Dispose()
    {
        if (_ended) return;
        if (_thread != Environment.CurrentManagedThreadId)
            throw new InvalidOperationException("a TensorScope must be disposed on the thread that began it");
        if (_current != this)
            throw new InvalidOperationException("TensorScopes must end in reverse order of their start (an inner scope is still open)");
        _ended = true;
        _current = _parent;
        foreach (var e in _entries)
        {
            if (e.Buffer != null)
            {
                if (e.Storage.Target is Storage s) s.Invalidate(returnBuffer: false);
                e.Buffer.ReturnToPool();
                e.Buffer = null;
            }
            e.Storage.Free();
        }
        _entries.Clear();
    }
}
