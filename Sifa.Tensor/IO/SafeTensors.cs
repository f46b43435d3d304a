using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Sifa.Tensors.IO;

/// <summary>One tensor read from a safetensors file, converted to float32, with its stored dtype.</summary>
/// <param name="DType">The stored dtype (F32, F16, BF16, F64, I64, I32, ...).</param>
/// <param name="Tensor">The values as float32.</param>
public sealed record NamedTensor(string DType, Tensor Tensor);

/// <summary>
/// Reads and writes the safetensors format: 8-byte little-endian header length, a JSON header mapping each
/// name to <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> (plus an optional <c>__metadata__</c> string
/// map), then the raw little-endian data.
/// </summary>
public static class SafeTensors
{
    /// <summary>The tensors and metadata of a file.</summary>
    /// <param name="Tensors">Tensors by name, in file order.</param>
    /// <param name="Metadata">The <c>__metadata__</c> map (empty when absent).</param>
    public sealed record Content(IReadOnlyDictionary<string, NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Reads a safetensors file; every size is checked against the file before allocation.</summary>
    /// <param name="path">The file.</param>
    /// <returns>Its tensors and metadata.</returns>
    public static Content Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new InvalidDataException($"{path}: cannot read safetensors file: {e.Message}", e); }
        return Parse(bytes, path);
    }

    /// <summary>Parses safetensors bytes.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="name">A name for error messages.</param>
    /// <returns>Its tensors and metadata.</returns>
    public static Content Parse(byte[] bytes, string name = "<bytes>")
    {
        if (bytes.Length < 8) throw new InvalidDataException($"{name}: too short for a safetensors file ({bytes.Length} bytes)");
        ulong hlen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (hlen > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"{name}: header length {hlen} exceeds the file size {bytes.Length}");
        int dataStart = 8 + (int)hlen;
        var tensors = new Dictionary<string, NamedTensor>();
        var meta = new Dictionary<string, string>();
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.AsMemory(8, (int)hlen)); }
        catch (JsonException e) { throw new InvalidDataException($"{name}: header is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var e = prop.Value;
                string dtype = e.GetProperty("dtype").GetString() ?? "";
                var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
                var offs = e.GetProperty("data_offsets").EnumerateArray().Select(v => v.GetInt64()).ToArray();
                int esize = ElementSize(dtype, name, prop.Name);
                long count = 1;
                foreach (var s in shape)
                {
                    if (s < 0 || s > int.MaxValue) throw new InvalidDataException($"{name}: tensor '{prop.Name}' has invalid shape");
                    count *= s;
                    if (count > int.MaxValue) throw new InvalidDataException($"{name}: tensor '{prop.Name}' is too large");
                }
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] - offs[0] != count * esize
                    || dataStart + offs[1] > bytes.Length)
                    throw new InvalidDataException($"{name}: tensor '{prop.Name}' has data_offsets [{string.Join(",", offs)}] inconsistent with dtype {dtype}, shape [{string.Join(",", shape)}] or the file size");
                var data = Decode(bytes.AsSpan(dataStart + (int)offs[0], (int)(offs[1] - offs[0])), dtype, (int)count);
                tensors[prop.Name] = new NamedTensor(dtype, Tensor.FromArray(data, shape.Select(s => (int)s).ToArray()));
            }
        }
        return new Content(tensors, meta);
    }

    private static int ElementSize(string dtype, string file, string key) => dtype switch
    {
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "F64" or "I64" or "U64" => 8,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new InvalidDataException($"{file}: tensor '{key}' has unsupported dtype '{dtype}'"),
    };

    private static float[] Decode(ReadOnlySpan<byte> raw, string dtype, int count)
    {
        var r = new float[count];
        for (int i = 0; i < count; i++)
        {
            r[i] = dtype switch
            {
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]),
                "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16),
                "I64" => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
                "U64" => BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
                "I32" => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
                "U32" => BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]),
                "I16" => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
                "U16" => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
                "I8" => (sbyte)raw[i],
                _ => raw[i],
            };
        }
        return r;
    }

    /// <summary>
    /// Writes tensors atomically (a temporary file renamed over the target, so a crash never leaves half a file).
    /// </summary>
    /// <param name="path">The target file.</param>
    /// <param name="tensors">Name → (dtype "F32" or "I64", tensor).</param>
    /// <param name="metadata">Optional string metadata.</param>
    public static void Write(string path, IEnumerable<KeyValuePair<string, NamedTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new Dictionary<string, object>();
        if (metadata != null && metadata.Count > 0) header["__metadata__"] = metadata;
        long off = 0;
        foreach (var (key, nt) in list)
        {
            int es = nt.DType switch { "F32" => 4, "I64" => 8, _ => throw new ArgumentException($"cannot write dtype {nt.DType} for '{key}' (F32 or I64)") };
            long len = (long)nt.Tensor.Numel * es;
            header[key] = new Dictionary<string, object> { ["dtype"] = nt.DType, ["shape"] = nt.Tensor.Shape, ["data_offsets"] = new[] { off, off + len } };
            off += len;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8; // keep the data 8-byte aligned, as the reference writer does
        var hdr = new byte[json.Length + pad];
        json.CopyTo(hdr, 0);
        for (int i = json.Length; i < hdr.Length; i++) hdr[i] = (byte)' ';
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> len8 = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len8, (ulong)hdr.Length);
                fs.Write(len8);
                fs.Write(hdr);
                foreach (var (_, nt) in list)
                {
                    var v = nt.Tensor.ToArray();
                    if (nt.DType == "F32")
                    {
                        var buf = new byte[v.Length * 4];
                        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(i * 4), v[i]);
                        fs.Write(buf);
                    }
                    else
                    {
                        var buf = new byte[v.Length * 8];
                        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(buf.AsSpan(i * 8), (long)Math.Round(v[i]));
                        fs.Write(buf);
                    }
                }
                fs.Flush(true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}
