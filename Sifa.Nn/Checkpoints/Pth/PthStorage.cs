using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Sifa.Tensors;

namespace Sifa.Nn.Checkpoints.Pth;

/// <summary>A global named by the pickle (only allow-listed ones are ever created).</summary>
internal sealed record PickleGlobal(string Module, string Name, StorageDType? Storage)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>The element type of one <c>torch.*Storage</c> class.</summary>
internal sealed record StorageDType(string ClassName, string DType, int ElementSize);

/// <summary>The raw storage behind tensors, as named by a persistent id.</summary>
internal sealed class StorageRoot(string key, StorageDType dtype, long numel)
{
    public string Key { get; } = key;
    public StorageDType DType { get; } = dtype;
    public long Numel { get; } = numel;
}

/// <summary>A window of a root storage (legacy view metadata); a plain storage is the whole root.</summary>
internal sealed record StorageRef(StorageRoot Root, long ElementOffset, long Numel);

/// <summary>A tensor whose storage bytes are read once the whole pickle has been parsed.</summary>
internal sealed class PendingTensor(StorageRef storage, long offset, int[] shape, long[] strides, int numel)
{
    public StorageRef Storage { get; } = storage;
    public long Offset { get; } = offset;
    public int[] Shape { get; } = shape;
    public long[] Strides { get; } = strides;
    public int Numel { get; } = numel;
    public bool RequiresGrad { get; set; }
    public bool IsParameter { get; set; }

    /// <summary>Copies the viewed elements out of the root storage's bytes, converting to float32.</summary>
    public PthTensor Materialize(ReadOnlySpan<byte> rootBytes)
    {
        var dt = Storage.Root.DType;
        int es = dt.ElementSize;
        var dst = new float[Numel];
        if (Numel > 0)
        {
            long start = Storage.ElementOffset + Offset;
            int rank = Shape.Length;
            bool contiguous = true;
            long expected = 1;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (Shape[d] != 1 && Strides[d] != expected) { contiguous = false; break; }
                expected *= Shape[d];
            }
            if (contiguous)
                Decode(rootBytes.Slice(checked((int)(start * es)), Numel * es), dst, dt.DType);
            else
            {
                // Odometer over all but the innermost dimension; the innermost run is decoded in one go when dense.
                int inner = Shape[rank - 1];
                long innerStride = Strides[rank - 1];
                var idx = new int[rank];
                long pos = start;
                for (int o = 0; o < Numel; o += inner)
                {
                    if (innerStride == 1)
                        Decode(rootBytes.Slice(checked((int)(pos * es)), inner * es), dst.AsSpan(o, inner), dt.DType);
                    else
                        for (int i = 0; i < inner; i++)
                            Decode(rootBytes.Slice(checked((int)((pos + i * innerStride) * es)), es), dst.AsSpan(o + i, 1), dt.DType);
                    for (int d = rank - 2; d >= 0; d--)
                    {
                        idx[d]++;
                        pos += Strides[d];
                        if (idx[d] < Shape[d]) break;
                        pos -= Strides[d] * Shape[d];
                        idx[d] = 0;
                    }
                }
            }
        }
        return new PthTensor(Tensor.FromArray(dst, Shape), dt.DType) { RequiresGrad = RequiresGrad, IsParameter = IsParameter };
    }

    private static void Decode(ReadOnlySpan<byte> src, Span<float> dst, string dtype)
    {
        int n = dst.Length;
        switch (dtype)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(src)[..n].CopyTo(dst);
                else for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]);
                break;
            case "F64": for (int i = 0; i < n; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(i * 8)..]); break;
            case "F16": for (int i = 0; i < n; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]); break;
            case "BF16": for (int i = 0; i < n; i++) dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..]) << 16); break;
            case "I64": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadInt64LittleEndian(src[(i * 8)..]); break;
            case "I32": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src[(i * 4)..]); break;
            case "I16": for (int i = 0; i < n; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(src[(i * 2)..]); break;
            case "I8": for (int i = 0; i < n; i++) dst[i] = (sbyte)src[i]; break;
            case "U8": for (int i = 0; i < n; i++) dst[i] = src[i]; break;
            case "BOOL": for (int i = 0; i < n; i++) dst[i] = src[i] != 0 ? 1f : 0f; break;
            default: throw new InvalidOperationException($"unknown dtype {dtype}");
        }
    }
}

/// <summary>The allow-list of globals a PyTorch checkpoint may name.</summary>
internal static class PthGlobals
{
    public const string OrderedDict = "collections.OrderedDict";
    public const string RebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
    public const string RebuildTensor = "torch._utils._rebuild_tensor";
    public const string RebuildParameter = "torch._utils._rebuild_parameter";
    public const string CodecsEncode = "_codecs.encode"; // how protocol 2 pickles non-empty bytes
    public const string Bytes2 = "__builtin__.bytes";   // how protocol 2 pickles b""
    public const string Bytes3 = "builtins.bytes";

    /// <summary>
    /// Inert classes: an instance is built as an empty <see cref="PthDict"/> carrying the class name, its pickled state
    /// kept as plain data in <see cref="PthDict.Attributes"/>; no code of the class runs (the official SIFA training
    /// checkpoint holds its <c>argparse.Namespace</c> of options beside the state dict).
    /// </summary>
    public static readonly IReadOnlySet<string> InertClasses = new HashSet<string>(StringComparer.Ordinal) { "argparse.Namespace" };

    private static readonly Dictionary<string, StorageDType> Storages = new[]
    {
        new StorageDType("FloatStorage", "F32", 4),
        new StorageDType("DoubleStorage", "F64", 8),
        new StorageDType("HalfStorage", "F16", 2),
        new StorageDType("BFloat16Storage", "BF16", 2),
        new StorageDType("LongStorage", "I64", 8),
        new StorageDType("IntStorage", "I32", 4),
        new StorageDType("ShortStorage", "I16", 2),
        new StorageDType("CharStorage", "I8", 1),
        new StorageDType("ByteStorage", "U8", 1),
        new StorageDType("BoolStorage", "BOOL", 1),
    }.ToDictionary(s => "torch." + s.ClassName, StringComparer.Ordinal);

    /// <summary>Resolves an allow-listed global, or returns null for anything else.</summary>
    public static PickleGlobal? Resolve(string module, string name)
    {
        string full = module + "." + name;
        if (Storages.TryGetValue(full, out var s)) return new PickleGlobal(module, name, s);
        return full is OrderedDict or RebuildTensorV2 or RebuildTensor or RebuildParameter or CodecsEncode or Bytes2 or Bytes3
            || InertClasses.Contains(full)
            ? new PickleGlobal(module, name, null) : null;
    }
}
