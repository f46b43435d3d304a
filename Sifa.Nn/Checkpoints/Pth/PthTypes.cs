using System.Collections;
using System.Numerics;
using Sifa.Tensors;

namespace Sifa.Nn.Checkpoints.Pth;

/// <summary>The two container formats written by <c>torch.save</c>.</summary>
public enum PthFormat
{
    /// <summary>The zip archive of PyTorch ≥ 1.6: <c>&lt;prefix&gt;/data.pkl</c> plus one <c>&lt;prefix&gt;/data/&lt;key&gt;</c> entry per storage.</summary>
    Zip,

    /// <summary>The older pickle stream: magic number, protocol version, sys info, the object pickle, the storage keys, then the raw storages.</summary>
    Legacy,
}

/// <summary>
/// One tensor read from a PyTorch checkpoint. The values are always converted to float32; <see cref="DType"/>
/// remembers what the file stored.
/// </summary>
/// <param name="Tensor">The values as a contiguous float32 CPU tensor of the stored shape.</param>
/// <param name="DType">
/// The stored element type, in safetensors spelling: <c>F32</c>, <c>F16</c>, <c>BF16</c>, <c>F64</c>, <c>I64</c>,
/// <c>I32</c>, <c>I16</c>, <c>I8</c>, <c>U8</c> or <c>BOOL</c>.
/// </param>
public sealed record PthTensor(Tensor Tensor, string DType)
{
    /// <summary>True when the stored element type is a floating-point type (F32, F16, BF16, F64).</summary>
    public bool IsFloatingPoint => DType is "F32" or "F16" or "BF16" or "F64";

    /// <summary>The stored <c>requires_grad</c> flag.</summary>
    public bool RequiresGrad { get; init; }

    /// <summary>True when the tensor was saved as a <c>torch.nn.Parameter</c>.</summary>
    public bool IsParameter { get; init; }

    /// <summary>The shape (a shortcut for <c>Tensor.Shape</c>).</summary>
    public int[] Shape => Tensor.Shape;
}

/// <summary>
/// A Python dict (or <c>collections.OrderedDict</c>) from a checkpoint, keeping insertion order. Keys are
/// <see cref="string"/>, <see cref="long"/>, <see cref="bool"/>, <see cref="double"/>, <see cref="BigInteger"/>
/// or tuples (<c>object?[]</c>) of those; string keys can be looked up directly (<c>dict["model"]</c>).
/// </summary>
public sealed class PthDict : OrderedDictionary<object, object?>
{
    /// <summary>Creates an empty dict.</summary>
    /// <param name="className">The Python class (<c>collections.OrderedDict</c>), or null for a plain dict.</param>
    public PthDict(string? className = null) : base(PythonKeyComparer.Instance) => ClassName = className;

    /// <summary>
    /// The Python class the dict was built from (<c>collections.OrderedDict</c>), null for a plain <c>dict</c>, or an inert
    /// allow-listed class (<c>argparse.Namespace</c>) whose instance has no items and its attributes in <see cref="Attributes"/>.
    /// </summary>
    public string? ClassName { get; }

    /// <summary>
    /// Instance attributes restored by the pickle's BUILD (for a PyTorch state dict: <c>_metadata</c>, the
    /// per-module versions); null when there were none.
    /// </summary>
    public PthDict? Attributes { get; internal set; }
}

/// <summary>
/// Equality of Python dict keys: strings ordinally, numbers by value and type, tuples element-wise. Hashes mix all
/// 64 bits with a per-process random seed (<see cref="HashCode"/>): <c>long.GetHashCode</c> folds the two halves
/// together, so keys like <c>i * (2^32 + 1)</c> all collide and a 2 MB pickle took 37 s to insert them.
/// </summary>
internal sealed class PythonKeyComparer : IEqualityComparer<object>
{
    public static readonly PythonKeyComparer Instance = new();

    /// <summary>Seeded hashing of integer keys (the unpickler's memo).</summary>
    public static readonly IEqualityComparer<long> Int64 = new Int64Comparer();

    public new bool Equals(object? x, object? y)
    {
        if (x is object?[] a && y is object?[] b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++)
                if (!(a[i] is null ? b[i] is null : b[i] is not null && Equals(a[i], b[i]))) return false;
            return true;
        }
        return object.Equals(x, y);
    }

    public int GetHashCode(object obj)
    {
        switch (obj)
        {
            case object?[] t:
            {
                var h = new HashCode();
                h.Add(t.Length);
                foreach (var e in t) h.Add(e is null ? 0 : GetHashCode(e));
                return h.ToHashCode();
            }
            case string s: return StringComparer.Ordinal.GetHashCode(s); // randomised per process already
            case long l: return Mix(l);
            case double d: return Mix(BitConverter.DoubleToInt64Bits(d == 0 ? 0.0 : double.IsNaN(d) ? double.NaN : d)); // as Equals: 0.0 == -0.0, NaN == NaN
            case bool b: return b ? 1 : 0;
            case BigInteger big:
            {
                var h = new HashCode();
                h.AddBytes(big.ToByteArray());
                return h.ToHashCode();
            }
            default: return obj.GetHashCode();
        }
    }

    private static int Mix(long v) => HashCode.Combine((int)v, (int)(v >> 32));

    private sealed class Int64Comparer : IEqualityComparer<long>
    {
        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long v) => Mix(v);
    }
}

/// <summary>The whole object tree of a checkpoint, with how it was stored.</summary>
/// <param name="Root">
/// The unpickled object: <see cref="PthDict"/>, <c>List&lt;object?&gt;</c>, <c>object?[]</c> (tuples), <see cref="long"/>,
/// <see cref="BigInteger"/> (integers beyond 64 bits), <see cref="double"/>, <see cref="string"/>, <c>byte[]</c>,
/// <see cref="bool"/>, null and <see cref="PthTensor"/>.
/// </param>
/// <param name="Format">The container format.</param>
/// <param name="Source">The file name (or the name given for a stream).</param>
public sealed record PthContent(object? Root, PthFormat Format, string Source);

/// <summary>
/// The tensors of a state dict in file order, with where they were found. Enumerates (key, tensor) pairs;
/// tensors can also be looked up by key.
/// </summary>
public sealed class PthStateDict : IReadOnlyList<KeyValuePair<string, PthTensor>>
{
    private readonly List<KeyValuePair<string, PthTensor>> _items;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates a state dict.</summary>
    /// <param name="items">The (key, tensor) pairs in file order; keys must be unique.</param>
    /// <param name="format">The container format of the file.</param>
    /// <param name="containerKey">The top-level key holding the state dict (<c>model</c>, <c>state_dict</c>), or null when it is the top level.</param>
    /// <param name="skippedKeys">Keys of the container whose values were not tensors.</param>
    /// <param name="source">The file name.</param>
    public PthStateDict(IEnumerable<KeyValuePair<string, PthTensor>> items, PthFormat format, string? containerKey,
        IReadOnlyList<string> skippedKeys, string source)
    {
        _items = items.ToList();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _items.Count; i++)
            if (!_index.TryAdd(_items[i].Key, i)) throw new ArgumentException($"duplicate state-dict key '{_items[i].Key}'", nameof(items));
        Format = format;
        ContainerKey = containerKey;
        SkippedKeys = skippedKeys;
        Source = source;
    }

    /// <summary>The container format of the file.</summary>
    public PthFormat Format { get; }

    /// <summary>The top-level key that held the state dict (<c>model</c> or <c>state_dict</c>), or null when the top level is the state dict.</summary>
    public string? ContainerKey { get; }

    /// <summary>Keys of the container whose values were not tensors (skipped).</summary>
    public IReadOnlyList<string> SkippedKeys { get; }

    /// <summary>
    /// The top-level entries beside a nested state dict, as skipped: e.g. <c>skipped argparse.Namespace 'opt' (read as
    /// data, never executed)</c>, <c>skipped 'epoch' (int)</c>. Empty when the top level is the state dict.
    /// </summary>
    public IReadOnlyList<string> SkippedEntries { get; init; } = Array.Empty<string>();

    /// <summary>The file name.</summary>
    public string Source { get; }

    /// <summary>The keys in file order.</summary>
    public IEnumerable<string> Keys => _items.Select(p => p.Key);

    /// <inheritdoc/>
    public int Count => _items.Count;

    /// <inheritdoc/>
    public KeyValuePair<string, PthTensor> this[int index] => _items[index];

    /// <summary>The tensor stored under a key.</summary>
    /// <param name="key">The state-dict key.</param>
    /// <returns>The tensor.</returns>
    /// <exception cref="KeyNotFoundException">The key is absent.</exception>
    public PthTensor this[string key] => _index.TryGetValue(key, out var i) ? _items[i].Value
        : throw new KeyNotFoundException($"{Source}: no tensor '{key}' in the state dict");

    /// <summary>Whether a key is present.</summary>
    /// <param name="key">The key.</param>
    /// <returns>True when present.</returns>
    public bool ContainsKey(string key) => _index.ContainsKey(key);

    /// <summary>Looks a tensor up by key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="tensor">The tensor, when present.</param>
    /// <returns>True when present.</returns>
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out PthTensor tensor)
    {
        if (_index.TryGetValue(key, out var i)) { tensor = _items[i].Value; return true; }
        tensor = null;
        return false;
    }

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, PthTensor>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
