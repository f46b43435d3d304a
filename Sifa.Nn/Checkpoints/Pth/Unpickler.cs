using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Sifa.Tensors.IO;

namespace Sifa.Nn.Checkpoints.Pth;

/// <summary>
/// A minimal, non-executing unpickler for the pickles <c>torch.save</c> writes (protocol 2, plus the few
/// protocol 4 opcodes newer writers use). It only ever builds plain data; globals outside the allow-list are
/// rejected, and every length is checked against the bytes that remain before anything is allocated. What the pickle
/// makes us allocate is bounded by a <see cref="LoadBudget"/> (checked at every opcode), and dict keys are hashed with
/// per-process random seeds so that crafted keys cannot collide.
/// </summary>
internal sealed class Unpickler
{
    private const int MaxGlobalLine = 512;
    private const int MaxLongBytes = 4096;

    /// <summary>At most this many values (tuple elements included) in one dict key: bounds hashing and comparing it.</summary>
    private const int MaxKeyNodes = 64;
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly Stream _s;
    private readonly long _end;
    private readonly string _file;
    private readonly string _what;
    private readonly Func<object?[], Unpickler, object?> _persistentLoad;
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new(PythonKeyComparer.Int64);
    private readonly LoadBudget _budget;
    private long _pos;
    private long _opPos;

    /// <summary>Creates an unpickler reading from the stream's current position.</summary>
    /// <param name="stream">The stream (positioned at the pickle).</param>
    /// <param name="start">The stream position of the pickle (for messages and bounds).</param>
    /// <param name="end">The stream position past which nothing may be read.</param>
    /// <param name="file">The file name for messages.</param>
    /// <param name="what">Which pickle this is, for messages.</param>
    /// <param name="persistentLoad">Resolves a persistent id tuple (BINPERSID).</param>
    /// <param name="budget">The allocation bound of the whole load.</param>
    public Unpickler(Stream stream, long start, long end, string file, string what, Func<object?[], Unpickler, object?> persistentLoad,
        LoadBudget budget)
    {
        _budget = budget;
        _s = stream;
        _pos = start;
        _end = end;
        _file = file;
        _what = what;
        _persistentLoad = persistentLoad;
    }

    /// <summary>The stream position after the last byte consumed.</summary>
    public long Position => _pos;

    /// <summary>Builds a <see cref="CheckpointFormatException"/> naming the file, the pickle and the opcode offset.</summary>
    public CheckpointFormatException Error(string message) => new(_file, null, $"{message} (in {_what} at byte {_opPos})");

    /// <summary>Runs the pickle to its STOP and returns the object.</summary>
    public object? Load()
    {
        while (true)
        {
            _opPos = _pos;
            if (!_budget.Fits(0)) throw _budget.Refusal(0, $"the pickle ({_what}, at byte {_opPos})");
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                {
                    int p = ReadByte();
                    if (p > 5) throw Error($"unsupported pickle protocol {p}");
                    break;
                }
                case 0x95: // FRAME: a length hint only
                {
                    ulong n = BinaryPrimitives.ReadUInt64LittleEndian(ReadSpan(8));
                    if (n > (ulong)Remaining) throw Error($"FRAME declares {n} bytes but only {Remaining} remain");
                    break;
                }
                case (byte)'}': Push(new PthDict()); break; // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'(': _marks.Add(_stack.Count); break; // MARK
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case (byte)'s': // SETITEM
                {
                    var v = Pop();
                    var k = Pop();
                    SetItem(Top(), k, v);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0) throw Error("SETITEMS with an odd number of items");
                    var d = Top();
                    for (int i = 0; i < items.Count; i += 2) SetItem(d, items[i], items[i + 1]);
                    break;
                }
                case (byte)'a': // APPEND
                {
                    var v = Pop();
                    AsList(Top(), "APPEND").Add(v);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    var items = PopMark();
                    AsList(Top(), "APPENDS").AddRange(items);
                    break;
                }
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadSpan(2))); break; // BININT2
                case 0x8a: Push(DecodeLong(ReadByte())); break; // LONG1
                case 0x8b: // LONG4
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4));
                    if (n < 0 || n > MaxLongBytes) throw Error($"LONG4 of {n} bytes is out of range");
                    Push(DecodeLong(n));
                    break;
                }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadSpan(8))); break; // BINFLOAT
                case (byte)'X': Push(ReadUtf8(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4)), "BINUNICODE")); break;
                case 0x8c: Push(ReadUtf8(ReadByte(), "SHORT_BINUNICODE")); break;
                case 0x8d: Push(ReadUtf8(BinaryPrimitives.ReadUInt64LittleEndian(ReadSpan(8)), "BINUNICODE8")); break;
                case (byte)'T': // BINSTRING (Python 2 str): decoded as UTF-8, as torch.load does
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4));
                    if (n < 0) throw Error($"BINSTRING with negative length {n}");
                    Push(ReadUtf8((ulong)n, "BINSTRING"));
                    break;
                }
                case (byte)'U': Push(ReadUtf8(ReadByte(), "SHORT_BINSTRING")); break;
                case (byte)'B': Push(ReadBytes(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4)), "BINBYTES")); break;
                case (byte)'C': Push(ReadBytes(ReadByte(), "SHORT_BINBYTES")); break;
                case 0x8e: Push(ReadBytes(BinaryPrimitives.ReadUInt64LittleEndian(ReadSpan(8)), "BINBYTES8")); break;
                case (byte)'N': Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'q': _memo[ReadByte()] = Top(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4))] = Top(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Top(); break; // MEMOIZE
                case (byte)'h': Push(MemoGet(ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4)))); break; // LONG_BINGET
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Top()); break; // DUP
                case (byte)'c': // GLOBAL
                {
                    string module = ReadLine();
                    string name = ReadLine();
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop() as string ?? throw Error("STACK_GLOBAL name is not a string");
                    var module = Pop() as string ?? throw Error("STACK_GLOBAL module is not a string");
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop() as object?[] ?? throw Error("REDUCE arguments are not a tuple");
                    var fn = Pop() as PickleGlobal ?? throw Error("REDUCE of something that is not an allowed global");
                    Push(Call(fn, args));
                    break;
                }
                case 0x81: // NEWOBJ
                {
                    var args = Pop() as object?[] ?? throw Error("NEWOBJ arguments are not a tuple");
                    var cls = Pop() as PickleGlobal ?? throw Error("NEWOBJ of something that is not an allowed class");
                    if (PthGlobals.InertClasses.Contains(cls.FullName))
                    {
                        // copyreg.__newobj__(cls): an empty instance whose state the following BUILD supplies as data.
                        if (args.Length != 0) throw Error($"'{cls.FullName}' instantiated with {args.Length} arguments (expected none)");
                        Push(new PthDict(cls.FullName));
                        break;
                    }
                    if (cls.FullName != PthGlobals.OrderedDict) throw Error($"global '{cls.FullName}' cannot be instantiated with NEWOBJ");
                    Push(Call(cls, args));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop();
                    Build(Top(), state);
                    break;
                }
                case (byte)'Q': // BINPERSID
                {
                    var pid = Pop() as object?[] ?? throw Error("persistent id is not a tuple");
                    Push(_persistentLoad(pid, this));
                    break;
                }
                case (byte)'.': // STOP
                {
                    if (_marks.Count != 0) throw Error("STOP with an unclosed MARK");
                    if (_stack.Count != 1) throw Error($"STOP with {_stack.Count} objects on the stack (expected 1)");
                    return _stack[0];
                }
                default:
                    throw Error($"unknown or unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    // ------------------------------------------------------------------ reading

    private long Remaining => _end - _pos;

    private byte ReadByte()
    {
        if (_pos >= _end) throw Error("truncated pickle (unexpected end of data)");
        int b = _s.ReadByte();
        if (b < 0) throw Error("truncated pickle (unexpected end of file)");
        _pos++;
        return (byte)b;
    }

    private readonly byte[] _small = new byte[8];

    private ReadOnlySpan<byte> ReadSpan(int n)
    {
        if (n > Remaining) throw Error($"truncated pickle (needs {n} bytes, {Remaining} remain)");
        _s.ReadExactly(_small, 0, n);
        _pos += n;
        return _small.AsSpan(0, n);
    }

    private byte[] ReadBytes(ulong n, string what)
    {
        if (n > (ulong)Remaining) throw Error($"{what} declares {n} bytes but only {Remaining} remain");
        if (n > (ulong)Array.MaxLength) throw Error($"{what} of {n} bytes is too large");
        if (!_budget.Fits((Int128)n * 3)) throw _budget.Refusal((Int128)n * 3, $"{what} of {n} bytes (in {_what} at byte {_opPos})"); // bytes, then UTF-16
        var buf = new byte[(int)n];
        try { _s.ReadExactly(buf); }
        catch (EndOfStreamException) { throw Error($"truncated pickle inside {what}"); }
        _pos += (long)n;
        return buf;
    }

    private string ReadUtf8(ulong n, string what)
    {
        var bytes = ReadBytes(n, what);
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { throw Error($"{what} is not valid UTF-8"); }
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n') return sb.ToString();
            if (sb.Length >= MaxGlobalLine) throw Error("GLOBAL name is too long");
            if (b < 0x20 || b > 0x7e) throw Error($"GLOBAL name contains byte 0x{b:x2}");
            sb.Append((char)b);
        }
    }

    private object DecodeLong(int n)
    {
        if (n == 0) return 0L;
        var bytes = ReadBytes((ulong)n, "LONG");
        var v = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (object)(long)v : v;
    }

    // ------------------------------------------------------------------ stack

    private int Floor => _marks.Count > 0 ? _marks[^1] : 0;

    private void Push(object? o) => _stack.Add(o);

    private object? Pop()
    {
        if (_stack.Count <= Floor) throw Error("pickle stack underflow");
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    private object? Top()
    {
        if (_stack.Count <= Floor) throw Error("pickle stack underflow");
        return _stack[^1];
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Error("no MARK on the pickle stack");
        int m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private object? MemoGet(long i) =>
        _memo.TryGetValue(i, out var o) ? o : throw Error($"memo key {i} was never stored");

    // ------------------------------------------------------------------ objects

    private PickleGlobal ResolveGlobal(string module, string name) =>
        PthGlobals.Resolve(module, name)
        ?? throw new CheckpointFormatException(_file, null,
            $"unsupported global '{module}.{name}' in {_what} at byte {_opPos}: only tensors, storages, " +
            "OrderedDict and the inert argparse.Namespace are allowed (nothing from the file is ever executed; a checkpoint that pickles whole modules or " +
            "other Python objects must be re-saved as a state dict)");

    private void SetItem(object? target, object? key, object? value)
    {
        if (target is not PthDict d) throw Error($"SETITEM on a {Describe(target)}, not a dict");
        d[CheckKey(key)] = value;
    }

    /// <summary>
    /// A dict key must be a hashable scalar or a small tuple of them. The size bound matters: tuples can share
    /// memoised sub-tuples, so an unbounded walk (or hash) of a 64-byte pickle could visit 1000^8 nodes.
    /// </summary>
    private object CheckKey(object? key)
    {
        int nodes = 0;
        var todo = new Stack<object?>();
        todo.Push(key);
        while (todo.Count > 0)
        {
            var k = todo.Pop();
            if (++nodes > MaxKeyNodes) throw Error($"dict key with more than {MaxKeyNodes} values is not supported");
            switch (k)
            {
                case string or long or bool or double or BigInteger: break;
                case object?[] t: foreach (var e in t) todo.Push(e); break;
                default: throw Error($"unsupported dict key of type {Describe(k)}");
            }
        }
        return key!;
    }

    private List<object?> AsList(object? target, string op) =>
        target as List<object?> ?? throw Error($"{op} on a {Describe(target)}, not a list");

    private object? Call(PickleGlobal fn, object?[] args)
    {
        switch (fn.FullName)
        {
            case PthGlobals.OrderedDict:
            {
                var d = new PthDict(PthGlobals.OrderedDict);
                if (args.Length == 0) return d;
                if (args.Length == 1 && args[0] is List<object?> pairs)
                {
                    foreach (var p in pairs)
                    {
                        if (p is not object?[] { Length: 2 } kv) throw Error("OrderedDict item is not a (key, value) pair");
                        d[CheckKey(kv[0])] = kv[1];
                    }
                    return d;
                }
                throw Error($"OrderedDict called with {args.Length} unsupported arguments");
            }
            case PthGlobals.RebuildTensorV2:
                if (args.Length is not (6 or 7)) throw Error($"_rebuild_tensor_v2 takes 6 or 7 arguments, got {args.Length}");
                return RebuildTensor(args, requiresGrad: args[4] is bool rg ? rg : throw Error("_rebuild_tensor_v2 requires_grad is not a bool"));
            case PthGlobals.RebuildTensor:
                if (args.Length != 4) throw Error($"_rebuild_tensor takes 4 arguments, got {args.Length}");
                return RebuildTensor(args, requiresGrad: false);
            case PthGlobals.RebuildParameter:
            {
                if (args.Length is not (2 or 3)) throw Error($"_rebuild_parameter takes 3 arguments, got {args.Length}");
                var t = args[0] as PendingTensor ?? throw Error("_rebuild_parameter of something that is not a tensor");
                t.IsParameter = true;
                t.RequiresGrad = args[1] is bool b ? b : throw Error("_rebuild_parameter requires_grad is not a bool");
                return t;
            }
            case PthGlobals.CodecsEncode:
            {
                // Only the data-only form the pickler emits for bytes: encode(str, 'latin1').
                if (args is not [string text, "latin1" or "latin-1"]) throw Error("_codecs.encode is only supported as encode(str, 'latin1')");
                var bytes = new byte[text.Length];
                for (int i = 0; i < text.Length; i++)
                    bytes[i] = text[i] <= 0xff ? (byte)text[i] : throw Error("_codecs.encode of a non-latin1 string");
                return bytes;
            }
            case PthGlobals.Bytes2 or PthGlobals.Bytes3:
                if (args.Length != 0) throw Error("bytes() is only supported without arguments");
                return Array.Empty<byte>();
            default:
                throw Error($"global '{fn.FullName}' cannot be called");
        }
    }

    private PendingTensor RebuildTensor(object?[] args, bool requiresGrad)
    {
        var storage = args[0] as StorageRef ?? throw Error("tensor rebuilt from something that is not a storage");
        long offset = args[1] is long o ? o : throw Error("tensor storage offset is not an integer");
        var size = args[2] as object?[] ?? throw Error("tensor size is not a tuple");
        var stride = args[3] as object?[] ?? throw Error("tensor stride is not a tuple");
        if (size.Length != stride.Length) throw Error($"tensor size has {size.Length} dimensions but stride has {stride.Length}");
        if (size.Length > 64) throw Error($"tensor has {size.Length} dimensions");
        if (offset < 0) throw Error($"negative storage offset {offset}");
        var shape = new int[size.Length];
        var strides = new long[size.Length];
        long numel = 1;
        Int128 last = offset; // the element index of the last value
        for (int d = 0; d < size.Length; d++)
        {
            if (size[d] is not long s || s < 0 || s > int.MaxValue) throw Error($"tensor size [{Join(size)}] is invalid");
            if (stride[d] is not long st || st < 0) throw Error($"tensor stride [{Join(stride)}] is invalid");
            shape[d] = (int)s;
            strides[d] = st;
            numel *= s;
            if (numel > Array.MaxLength) throw Error($"tensor of size [{Join(size)}] is too large");
            if (s > 0) last += (Int128)(s - 1) * st;
        }
        if (numel > 0 && last >= storage.Numel)
            throw Error($"tensor of size [{Join(size)}], stride [{Join(stride)}] and offset {offset} reaches element {last} " +
                        $"but its storage '{storage.Root.Key}' holds only {storage.Numel}");
        // Expanded (stride-0) and overlapping views are materialised in full, so their size is bounded by the budget.
        _budget.Promise(numel * sizeof(float),
            $"tensor of size [{Join(size)}] and stride [{Join(stride)}] over {storage.Numel} stored elements (in {_what} at byte {_opPos})");
        return new PendingTensor(storage, offset, shape, strides, (int)numel) { RequiresGrad = requiresGrad };
    }

    private void Build(object? target, object? state)
    {
        if (state is null) return;
        if (target is not PthDict d) throw Error($"BUILD on a {Describe(target)} is not supported");
        PthDict? dictState = state as PthDict;
        if (state is object?[] { Length: 2 } pair)
        {
            if (pair[0] is not (null or PthDict) || pair[1] is not (null or PthDict)) throw Error("BUILD state tuple is not (dict, dict)");
            dictState = pair[0] as PthDict;
            if (pair[1] is PthDict slots) Merge(d, slots);
        }
        else if (dictState is null) throw Error($"BUILD state is a {Describe(state)}, not a dict");
        if (dictState is not null) Merge(d, dictState);
    }

    private void Merge(PthDict d, PthDict attrs)
    {
        d.Attributes ??= new PthDict();
        foreach (var (k, v) in attrs)
        {
            if (k is not string) throw Error("BUILD attribute name is not a string");
            d.Attributes[k] = v;
        }
    }

    private static string Join(object?[] items) => string.Join(", ", items.Select(i => i?.ToString() ?? "None"));

    /// <summary>A short type description for messages.</summary>
    public static string Describe(object? o) => o switch
    {
        null => "None",
        PthDict => "dict",
        List<object?> => "list",
        object?[] => "tuple",
        string => "str",
        long or BigInteger => "int",
        double => "float",
        bool => "bool",
        byte[] => "bytes",
        PickleGlobal g => $"global '{g.FullName}'",
        StorageRef => "storage",
        PendingTensor or PthTensor => "tensor",
        _ => o.GetType().Name,
    };
}
