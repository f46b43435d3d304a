using System.Text.Json;

namespace Sifa.Tensors.IO;

/// <summary>One tensor entry of a safetensors header, validated.</summary>
internal sealed record SafeTensorsEntry(string Name, string DType, int ElementSize, int[] Shape, int Numel, long Begin, long End);

/// <summary>
/// Parses and validates a safetensors header by the rules of the reference implementation (the Rust crate
/// <c>safetensors</c>, <c>read_metadata</c> and <c>Metadata::validate</c>): the header is at most 100 MB of UTF-8 JSON
/// holding one object; each entry has a known <c>dtype</c>, a <c>shape</c> of non-negative integers and two
/// <c>data_offsets</c> whose difference is exactly the dtype size times the shape product; sorted by offset the entries
/// tile the data buffer from 0 to its end with no gap, overlap or trailing byte. All arithmetic is checked. Beyond the
/// reference: duplicate keys are refused (a JSON parser would silently keep one), and shapes must fit this library's
/// int32 tensors.
/// </summary>
internal static class SafeTensorsHeader
{
    /// <summary>The reference implementation's <c>MAX_HEADER_SIZE</c>.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    /// <summary>Validates the header against a data buffer of <paramref name="dataLength"/> bytes.</summary>
    /// <returns>The entries in header order, and the metadata.</returns>
    public static (List<SafeTensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(ReadOnlyMemory<byte> json, long dataLength, string file)
    {
        // As the reference (str::from_utf8 first): System.Text.Json checks UTF-8 in names only when they are read.
        if (!System.Text.Unicode.Utf8.IsValid(json.Span)) throw new CheckpointFormatException(file, null, "header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new CheckpointFormatException(file, null, $"header is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(file, null, $"header is a JSON {doc.RootElement.ValueKind}, not an object");
            var entries = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw new CheckpointFormatException(file, prop.Name, "appears twice in the header");
                if (prop.Name == MetadataKey) ReadMetadata(prop.Value, metadata, file);
                else entries.Add(ReadEntry(prop.Name, prop.Value, dataLength, file));
            }
            CheckTiling(entries, dataLength, file);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind == JsonValueKind.Null) return; // Option<HashMap<String, String>> in the reference
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(file, MetadataKey, $"is a JSON {value.ValueKind}, not an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointFormatException(file, MetadataKey, $"entry '{m.Name}' is a JSON {m.Value.ValueKind}, not a string");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                throw new CheckpointFormatException(file, MetadataKey, $"entry '{m.Name}' appears twice");
        }
    }

    private static SafeTensorsEntry ReadEntry(string name, JsonElement e, long dataLength, string file)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException(file, name, $"entry is a JSON {e.ValueKind}, not an object");
        JsonElement? dtypeEl = null, shapeEl = null, offsEl = null;
        foreach (var f in e.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeEl;
            if (f.Name == "dtype") slot = ref dtypeEl;
            else if (f.Name == "shape") slot = ref shapeEl;
            else if (f.Name == "data_offsets") slot = ref offsEl;
            else continue; // unknown fields are ignored, as serde does by default
            if (slot is not null) throw new CheckpointFormatException(file, name, $"field '{f.Name}' appears twice");
            slot = f.Value;
        }
        if (dtypeEl is not { ValueKind: JsonValueKind.String } dt) throw new CheckpointFormatException(file, name, "has no string 'dtype'");
        string dtype = dt.GetString()!;
        int esize = ElementSize(dtype)
            ?? throw new CheckpointFormatException(file, name, $"has unsupported dtype '{dtype}' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL)");
        if (shapeEl is not { ValueKind: JsonValueKind.Array } sh) throw new CheckpointFormatException(file, name, "has no 'shape' array");
        if (offsEl is not { ValueKind: JsonValueKind.Array } of || of.GetArrayLength() != 2)
            throw new CheckpointFormatException(file, name, "has no 'data_offsets' pair [begin, end]");

        var dims = new List<ulong>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetUInt64(out var v))
                throw new CheckpointFormatException(file, name, $"shape has {d.GetRawText()}, not a non-negative integer");
            dims.Add(v);
        }
        if (!of[0].TryGetUInt64Checked(out ulong begin) || !of[1].TryGetUInt64Checked(out ulong end))
            throw new CheckpointFormatException(file, name, $"data_offsets {of.GetRawText()} are not two non-negative integers");

        string shapeText = "[" + string.Join(", ", dims) + "]";
        UInt128 numel = 1;
        foreach (var d in dims)
        {
            numel *= d; // ≤ 2^128 cannot overflow before the check below trips: each factor < 2^64 and we stop past 2^64
            if (numel > ulong.MaxValue) throw new CheckpointFormatException(file, name, $"shape {shapeText} overflows 64 bits");
        }
        UInt128 bytes = numel * (uint)esize;
        if (end < begin || (UInt128)(end - begin) != bytes)
            throw new CheckpointFormatException(file, name,
                $"data_offsets [{begin}, {end}] hold {(end < begin ? "a negative number of" : (end - begin).ToString())} bytes but dtype {dtype} and shape {shapeText} need {bytes}");
        if (begin > (ulong)dataLength || end > (ulong)dataLength)
            throw new CheckpointFormatException(file, name, $"data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data buffer");
        if (numel > int.MaxValue || dims.Count > 64 || dims.Any(d => d > int.MaxValue))
            throw new CheckpointFormatException(file, name, $"shape {shapeText} is too large for this library (at most 2^31-1 elements, 64 dimensions)");
        return new SafeTensorsEntry(name, dtype, esize, dims.Select(d => (int)d).ToArray(), (int)numel, (long)begin, (long)end);
    }

    private static bool TryGetUInt64Checked(this JsonElement e, out ulong v)
    {
        v = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out v);
    }

    /// <summary>Sorted by (begin, end), the entries must cover [0, dataLength) exactly.</summary>
    private static void CheckTiling(List<SafeTensorsEntry> entries, long dataLength, string file)
    {
        var sorted = entries.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        long next = 0;
        foreach (var t in sorted)
        {
            if (t.Begin != next)
                throw new CheckpointFormatException(file, t.Name,
                    t.Begin > next ? $"data_offsets [{t.Begin}, {t.End}] leave a gap: bytes {next}..{t.Begin} belong to no tensor"
                                   : $"data_offsets [{t.Begin}, {t.End}] overlap the previous tensor, which ends at {next}");
            next = t.End;
        }
        if (next != dataLength)
            throw new CheckpointFormatException(file, null,
                $"the tensors cover {next} bytes of data but the file holds {dataLength} after the header ({dataLength - next} trailing bytes)");
    }

    /// <summary>Byte size of the dtypes this library reads; null for any other (including the reference's F8/F4/C64 types).</summary>
    private static int? ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => null,
    };
}
