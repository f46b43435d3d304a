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
/// map), then the raw little-endian data. Reading enforces the reference implementation's rules: a header of at most
/// 100 MB holding one JSON object, no duplicate keys, known dtypes, offsets whose length is exactly dtype size × shape
/// product, and offsets that (sorted) tile the data buffer from 0 to the end of the file with no gap, overlap or
/// trailing byte. Any violation is a <see cref="CheckpointFormatException"/> naming the file and the key.
/// </summary>
public static class SafeTensors
{
    /// <summary>The tensors and metadata of a file.</summary>
    /// <param name="Tensors">Tensors by name, in file order.</param>
    /// <param name="Metadata">The <c>__metadata__</c> map (empty when absent).</param>
    public sealed record Content(IReadOnlyDictionary<string, NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>
    /// Reads a safetensors file. Only a regular file is opened, the header is validated whole (see the format rules on
    /// <see cref="SafeTensors"/>) before any tensor is allocated, and tensors are decoded in bounded chunks.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>Its tensors and metadata.</returns>
    /// <exception cref="CheckpointFormatException">The file cannot be read or breaks the format; the message names the file and the key.</exception>
    public static Content Read(string path)
    {
        using var fs = CheckpointFile.OpenRegular(path);
        return Read(fs, path);
    }

    /// <summary>Parses safetensors bytes.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="name">A name for error messages.</param>
    /// <returns>Its tensors and metadata.</returns>
    /// <exception cref="CheckpointFormatException">The bytes break the format.</exception>
    public static Content Parse(byte[] bytes, string name = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return Read(new MemoryStream(bytes, writable: false), name);
    }

    /// <summary>Reads safetensors data from a seekable stream, from position 0 to its end.</summary>
    /// <param name="stream">The data; must be readable and seekable.</param>
    /// <param name="name">A name for error messages.</param>
    /// <returns>Its tensors and metadata.</returns>
    /// <exception cref="CheckpointFormatException">The data cannot be read or breaks the format.</exception>
    public static Content Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead) throw new ArgumentException("the stream must be readable and seekable", nameof(stream));
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8) throw new CheckpointFormatException(name, null, $"too short for a safetensors file ({fileLength} bytes)");
            stream.Position = 0;
            Span<byte> len8 = stackalloc byte[8];
            stream.ReadExactly(len8);
            ulong hlen = BinaryPrimitives.ReadUInt64LittleEndian(len8);
            if (hlen > SafeTensorsHeader.MaxHeaderBytes)
                throw new CheckpointFormatException(name, null, $"header length {hlen} exceeds the format's limit of {SafeTensorsHeader.MaxHeaderBytes} bytes");
            if (hlen > (ulong)(fileLength - 8))
                throw new CheckpointFormatException(name, null, $"header length {hlen} exceeds the {fileLength - 8} bytes after the length field");
            var json = new byte[(int)hlen];
            stream.ReadExactly(json);
            long dataStart = 8 + (long)hlen;
            var (entries, meta) = SafeTensorsHeader.Parse(json, fileLength - dataStart, name);

            var tensors = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
            var chunk = new byte[Math.Min(1 << 20, Math.Max(8, entries.Count == 0 ? 8 : entries.Max(e => e.End - e.Begin)))];
            foreach (var e in entries)
            {
                stream.Position = dataStart + e.Begin;
                var data = new float[e.Numel];
                int perChunk = chunk.Length / e.ElementSize;
                for (int done = 0; done < e.Numel; done += perChunk)
                {
                    int n = Math.Min(perChunk, e.Numel - done);
                    var raw = chunk.AsSpan(0, n * e.ElementSize);
                    stream.ReadExactly(raw);
                    Decode(raw, e.DType, data.AsSpan(done, n));
                }
                tensors.Add(e.Name, new NamedTensor(e.DType, Tensor.FromArray(data, e.Shape)));
            }
            return new Content(tensors, meta);
        }
        catch (EndOfStreamException x) { throw new CheckpointFormatException(name, null, $"truncated while reading: {x.Message}", x); }
        catch (Exception x) when (x is (IOException and not CheckpointFormatException) or UnauthorizedAccessException)
        { throw new CheckpointFormatException(name, null, $"cannot read: {x.Message}", x); }
    }

    /// <summary>Writes one tensor's values through a small buffer (no whole-tensor byte copy).</summary>
    private static void WriteValues(Stream fs, NamedTensor nt, byte[] buf)
    {
        var t = nt.Tensor;
        ReadOnlySpan<float> v = t.Device == Device.Cpu && t.IsContiguous ? t.AsSpan() : t.ToArray();
        int es = nt.DType == "F32" ? 4 : 8;
        int per = buf.Length / es;
        for (int start = 0; start < v.Length; start += per)
        {
            int n = Math.Min(per, v.Length - start);
            var chunk = v.Slice(start, n);
            if (es == 4) for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(i * 4), chunk[i]);
            else for (int i = 0; i < n; i++) BinaryPrimitives.WriteInt64LittleEndian(buf.AsSpan(i * 8), (long)Math.Round(chunk[i]));
            fs.Write(buf, 0, n * es);
        }
    }

    private static void Decode(ReadOnlySpan<byte> raw, string dtype, Span<float> dst)
    {
        int n = dst.Length;
        switch (dtype)
        {
            case "F32": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]); break;
            case "F64": for (int i = 0; i < n; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]); break;
            case "F16": for (int i = 0; i < n; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]); break;
            case "BF16": for (int i = 0; i < n; i++) dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16); break;
            case "I64": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]); break;
            case "U64": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]); break;
            case "I32": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]); break;
            case "U32": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]); break;
            case "I16": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]); break;
            case "U16": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]); break;
            case "I8": for (int i = 0; i < n; i++) dst[i] = (sbyte)raw[i]; break;
            default: for (int i = 0; i < n; i++) dst[i] = raw[i]; break; // U8, BOOL
        }
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
            if (key == SafeTensorsHeader.MetadataKey || header.ContainsKey(key))
                throw new ArgumentException($"tensor key '{key}' is {(key == SafeTensorsHeader.MetadataKey ? "reserved" : "given twice")}", nameof(tensors));
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
                var buf = new byte[1 << 16];
                foreach (var (_, nt) in list) WriteValues(fs, nt, buf);
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
