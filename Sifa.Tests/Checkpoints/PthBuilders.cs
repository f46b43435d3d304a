using System.IO.Compression;
using System.Numerics;
using System.Text;

namespace Sifa.Tests.Checkpoints;

/// <summary>Emits pickle opcodes (protocol 2, as torch.save writes them).</summary>
internal sealed class Pickle
{
    private readonly MemoryStream _s = new();

    public void Op(int b) => _s.WriteByte((byte)b);

    public void Raw(byte[] b) => _s.Write(b);

    public void Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op('X');
        Raw(BitConverter.GetBytes(b.Length));
        Raw(b);
    }

    public void Int(long v)
    {
        if (v >= 0 && v < 256) { Op('K'); Op((int)v); }
        else if (v >= int.MinValue && v <= int.MaxValue) { Op('J'); Raw(BitConverter.GetBytes((int)v)); }
        else { Op(0x8a); Op(8); Raw(BitConverter.GetBytes(v)); }
    }

    public void Big(BigInteger v)
    {
        var b = v.ToByteArray();
        Op(0x8a);
        Op(b.Length);
        Raw(b);
    }

    public void Global(string module, string name) => Raw(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));

    public void Tuple(IEnumerable<long> items)
    {
        Op('(');
        foreach (var i in items) Int(i);
        Op('t');
    }

    public void Persistent(string storageType, string key, long numel, bool legacy = false, (string Key, long Offset, long Size)? view = null)
    {
        Op('(');
        Str("storage");
        Global("torch", storageType);
        Str(key);
        Str("cpu");
        Int(numel);
        if (view is { } v) { Str(v.Key); Int(v.Offset); Int(v.Size); Op(0x87); }
        else if (legacy) Op('N');
        Op('t');
        Op('Q');
    }

    public bool LegacyIds { get; set; }

    public void Tensor(string storageType, string key, long numel, long offset, long[] size, long[] stride,
        (string Key, long Offset, long Size)? view = null)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Op('(');
        Persistent(storageType, key, numel, LegacyIds, view);
        Int(offset);
        Tuple(size);
        Tuple(stride);
        Op(0x89);
        Global("collections", "OrderedDict");
        Op(')');
        Op('R');
        Op('t');
        Op('R');
    }

    public void OrderedDict(params (string Key, Action Value)[] items)
    {
        Global("collections", "OrderedDict");
        Op(')');
        Op('R');
        Op('(');
        foreach (var (k, v) in items) { Str(k); v(); }
        Op('u');
    }

    public byte[] Finish(bool proto = true)
    {
        var body = _s.ToArray();
        var r = new MemoryStream();
        if (proto) { r.WriteByte(0x80); r.WriteByte(2); }
        r.Write(body);
        r.WriteByte((byte)'.');
        return r.ToArray();
    }
}

/// <summary>Builds whole checkpoints around a pickle body.</summary>
internal static class Checkpoint
{
    public static byte[] Zip(Action<Pickle> body, params (string Key, byte[] Data)[] storages) =>
        Zip(CompressionLevel.NoCompression, body, storages);

    public static byte[] Zip(CompressionLevel level, Action<Pickle> body, params (string Key, byte[] Data)[] storages)
    {
        var p = new Pickle();
        body(p);
        return ZipPickle(level, p.Finish(), storages);
    }

    /// <summary>A zip checkpoint around finished pickle bytes (valid CRCs whatever the pickle holds).</summary>
    public static byte[] ZipPickle(CompressionLevel level, byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        var ms = new MemoryStream();
        using (var z = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] data)
            {
                using var s = z.CreateEntry(name, level).Open();
                s.Write(data);
            }
            Add("archive/data.pkl", pickle);
            foreach (var (k, d) in storages) Add("archive/data/" + k, d);
            Add("archive/version", "3\n"u8.ToArray());
        }
        return ms.ToArray();
    }

    public static byte[] Legacy(Action<Pickle> body, params (string Key, string Type, long Numel, byte[] Data)[] storages) =>
        Build(body, storages, null);

    public static byte[] LegacyCount(Action<Pickle> body, (string Key, string Type, long Numel, byte[] Data) storage, long countOverride) =>
        Build(body, [storage], countOverride);

    public static byte[] LegacyHeader(Action<Pickle> body, BigInteger? magic = null, long version = 1001, bool sysInfo = true) =>
        Build(body, [], null, magic, version, sysInfo);

    private static byte[] Build(Action<Pickle> body, (string Key, string Type, long Numel, byte[] Data)[] storages, long? countOverride,
        BigInteger? magic = null, long version = 1001, bool sysInfo = true)
    {
        var r = new MemoryStream();
        var m = new Pickle();
        m.Big(magic ?? BigInteger.Parse("119547037146038801333356"));
        r.Write(m.Finish());
        var v = new Pickle();
        v.Int(version);
        r.Write(v.Finish(proto: false));
        var si = new Pickle();
        if (sysInfo)
        {
            si.Op('}');
            si.Op('(');
            si.Str("protocol_version"); si.Int(1001);
            si.Str("little_endian"); si.Op(0x88);
            si.Op('u');
        }
        else si.Op('N');
        r.Write(si.Finish(proto: false));
        var main = new Pickle { LegacyIds = true };
        body(main);
        r.Write(main.Finish());
        var keys = new Pickle();
        keys.Op(']');
        keys.Op('(');
        foreach (var s in storages) keys.Str(s.Key);
        keys.Op('e');
        r.Write(keys.Finish());
        foreach (var s in storages)
        {
            r.Write(BitConverter.GetBytes(countOverride ?? s.Numel));
            r.Write(s.Data);
        }
        return r.ToArray();
    }
}
