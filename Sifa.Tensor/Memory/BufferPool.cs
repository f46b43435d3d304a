namespace Sifa.Tensors;

/// <summary>
/// Large host arrays kept for reuse. A training step allocates the same activation and gradient sizes every
/// time; without reuse each step hands hundreds of megabytes of large-object-heap arrays to the GC, which
/// collects them only in full (gen-2) collections. Arrays are handed out only inside a <see cref="TensorScope"/>,
/// whose end (or the autograd engine, for gradients it has consumed) gives them back here.
/// Buckets hold arrays of one exact length: the next step asks for the same lengths.
/// </summary>
public static class BufferPool
{
    /// <summary>Arrays shorter than this (64 KiB) are left to the GC's cheap young-generation collections.</summary>
    public const int MinFloats = 1 << 14;

    private static readonly Dictionary<int, Stack<float[]>> Free = new();
    private static readonly object Gate = new();
    private static long _pooledFloats, _hits, _misses, _lowestFloats = long.MaxValue;

    /// <summary>
    /// Most bytes kept for reuse (environment variable <c>SIFA_POOL_MB</c>, default 8192); arrays returned beyond
    /// it are left to the GC. 0 turns pooling off.
    /// </summary>
    public static long MaxPooledBytes { get; set; } =
        (long.TryParse(Environment.GetEnvironmentVariable("SIFA_POOL_MB"), out var mb) ? mb : 8192) << 20;

    /// <summary>Test hook: fills every recycled array with NaN, so a kernel that reads memory it did not write shows up.</summary>
    internal static bool PoisonRecycled { get; set; }

    /// <summary>Bytes held for reuse now.</summary>
    public static long PooledBytes { get { lock (Gate) return 4 * _pooledFloats; } }

    /// <summary>
    /// The fewest bytes the pool held since the last <see cref="ResetLowest"/>, right after serving a request: when a
    /// step allocates nothing new, what was idle at its fullest moment. Arrays of one exact length cannot serve another,
    /// so this is what exact-length pooling costs a step's peak.
    /// </summary>
    public static long LowestPooledBytes { get { lock (Gate) return _lowestFloats == long.MaxValue ? PooledBytes : 4 * _lowestFloats; } }

    /// <summary>Starts a new <see cref="LowestPooledBytes"/> window.</summary>
    public static void ResetLowest() { lock (Gate) _lowestFloats = long.MaxValue; }

    /// <summary>Requests served from the pool since start (or <see cref="Clear"/>).</summary>
    public static long Hits { get { lock (Gate) return _hits; } }

    /// <summary>Requests that needed a new array since start (or <see cref="Clear"/>).</summary>
    public static long Misses { get { lock (Gate) return _misses; } }

    /// <summary>A pooled array of exactly <paramref name="length"/> floats (undefined contents), or null when none is free
    /// (always for lengths below <see cref="MinFloats"/>, which the pool does not keep).</summary>
    /// <param name="length">The length.</param>
    /// <returns>The array, or null.</returns>
    public static float[]? TryRent(int length)
    {
        if (length < MinFloats) return null; // never kept (see Return): not a miss
        lock (Gate)
        {
            if (Free.TryGetValue(length, out var stack) && stack.TryPop(out var a))
            {
                _pooledFloats -= length;
                if (_pooledFloats < _lowestFloats) _lowestFloats = _pooledFloats;
                _hits++;
                if (PoisonRecycled) Array.Fill(a, float.NaN);
                return a;
            }
            _misses++;
        }
        return null;
    }

    /// <summary>Gives an array back. The caller must hold no reference to it afterwards.</summary>
    /// <param name="array">The array.</param>
    public static void Return(float[] array)
    {
        if (array.Length < MinFloats) return;
        lock (Gate)
        {
            if (4 * (_pooledFloats + array.Length) > MaxPooledBytes) return;
            if (!Free.TryGetValue(array.Length, out var stack)) Free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
            _pooledFloats += array.Length;
        }
    }

    /// <summary>Drops every pooled array (the GC reclaims them) and resets the statistics.</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            Free.Clear();
            _pooledFloats = _hits = _misses = 0;
            _lowestFloats = long.MaxValue;
        }
    }
}
