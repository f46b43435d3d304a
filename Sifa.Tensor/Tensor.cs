using System.Text;

namespace Sifa.Tensors;

/// <summary>
/// A float32 tensor: a shape, strides (in elements) and an offset over a <see cref="Storage"/>.
/// Views (reshape, permute, narrow, expand, ...) share the storage; data operations dispatch to the
/// backend of the tensor's device (<see cref="Backend"/>).
/// </summary>
public sealed partial class Tensor
{
    /// <summary>Creates a view over a storage.</summary>
    /// <param name="storage">The storage.</param>
    /// <param name="shape">The sizes, outermost first.</param>
    /// <param name="strides">The element strides of each dimension.</param>
    /// <param name="offset">The element offset of the first value.</param>
    public Tensor(Storage storage, int[] shape, int[] strides, int offset = 0)
    {
        if (shape.Length != strides.Length)
            throw new ArgumentException($"shape {Fmt(shape)} and strides {Fmt(strides)} differ in rank");
        foreach (var s in shape)
            if (s < 0) throw new ArgumentException($"negative size in shape {Fmt(shape)}");
        Storage = storage;
        Shape = shape;
        Strides = strides;
        Offset = offset;
        long n = 1;
        foreach (var s in shape) n *= s;
        if (n > int.MaxValue) throw new ArgumentException($"shape {Fmt(shape)} has more than 2^31 elements");
        Numel = (int)n;
    }

    /// <summary>The storage this tensor views.</summary>
    public Storage Storage { get; }

    /// <summary>Sizes, outermost first.</summary>
    public int[] Shape { get; }

    /// <summary>Element strides per dimension.</summary>
    public int[] Strides { get; }

    /// <summary>Element offset of index (0, ..., 0) in the storage.</summary>
    public int Offset { get; }

    /// <summary>The number of elements.</summary>
    public int Numel { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The device holding the values.</summary>
    public Device Device => Storage.Device;

    /// <summary>The backend that computes on this tensor's device.</summary>
    public IBackend Backend => Backends.For(Storage.Device);

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    /// <param name="dim">The dimension.</param>
    /// <returns>The size.</returns>
    public int Size(int dim) => Shape[NormDim(dim)];

    /// <summary>True when the values are laid out densely in row-major order.</summary>
    public bool IsContiguous
    {
        get
        {
            int expected = 1;
            for (int d = Rank - 1; d >= 0; d--)
            {
                if (Shape[d] != 1 && Strides[d] != expected) return false;
                expected *= Shape[d];
            }
            return true;
        }
    }

    /// <summary>Row-major strides of a shape.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The strides.</returns>
    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var st = new int[shape.Length];
        int s = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { st[d] = s; s *= shape[d]; }
        return st;
    }

    /// <summary>Number of elements of a shape.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The product of the sizes.</returns>
    public static int NumelOf(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        return checked((int)n);
    }

    /// <summary>Normalises a possibly negative dimension index.</summary>
    /// <param name="dim">The dimension (negative counts from the end).</param>
    /// <returns>The dimension in [0, Rank).</returns>
    public int NormDim(int dim)
    {
        int d = dim < 0 ? dim + Rank : dim;
        if (d < 0 || d >= Rank) throw new ArgumentOutOfRangeException(nameof(dim), $"dim {dim} out of range for shape {Fmt(Shape)}");
        return d;
    }

    // ---------------------------------------------------------------- factories

    /// <summary>Uninitialised tensor on a device.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Empty(params int[] shape) => Empty(shape, Device.Cpu);

    /// <summary>Uninitialised tensor on a device.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="device">The device.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Empty(int[] shape, Device device)
    {
        var n = NumelOf(shape);
        return new Tensor(Backends.For(device).Allocate(n, zero: false), (int[])shape.Clone(), ContiguousStrides(shape));
    }

    /// <summary>Zero-filled tensor.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, Device.Cpu);

    /// <summary>Zero-filled tensor on a device.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="device">The device.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Zeros(int[] shape, Device device)
    {
        var n = NumelOf(shape);
        return new Tensor(Backends.For(device).Allocate(n, zero: true), (int[])shape.Clone(), ContiguousStrides(shape));
    }

    /// <summary>Tensor filled with one value.</summary>
    /// <param name="value">The value.</param>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Empty(shape);
        t.Fill_(value);
        return t;
    }

    /// <summary>One-filled tensor.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>Wraps a host array as a CPU tensor (no copy; the array must hold exactly the shape's elements).</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape (defaults to a vector of the array's length).</param>
    /// <returns>The tensor.</returns>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        if (shape.Length == 0 && data.Length != 1) shape = new[] { data.Length };
        if (NumelOf(shape) != data.Length)
            throw new ArgumentException($"array of {data.Length} values does not match shape {Fmt(shape)}");
        return new Tensor(new CpuStorage(data), (int[])shape.Clone(), ContiguousStrides(shape));
    }

    /// <summary>A 0-dimensional tensor holding one value.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Scalar(float value) => new(new CpuStorage(new[] { value }), Array.Empty<int>(), Array.Empty<int>());

    /// <summary>Values 0, 1, ..., n-1.</summary>
    /// <param name="n">The count.</param>
    /// <returns>The vector.</returns>
    public static Tensor Arange(int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return FromArray(a, n);
    }

    // ---------------------------------------------------------------- host access

    /// <summary>Copies the values to a new host array in row-major order.</summary>
    /// <returns>The values.</returns>
    public float[] ToArray()
    {
        var dst = new float[Numel];
        Backend.CopyToHost(this, dst);
        return dst;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    /// <returns>The value.</returns>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs one element, shape is {Fmt(Shape)}");
        return ToArray()[0];
    }

    /// <summary>The dense host span of a contiguous CPU tensor (writes go to the tensor).</summary>
    /// <returns>The span.</returns>
    public Span<float> AsSpan()
    {
        if (Storage is not CpuStorage cs) throw new InvalidOperationException($"AsSpan needs a CPU tensor, this one is on {Device}");
        if (!IsContiguous) throw new InvalidOperationException($"AsSpan needs a contiguous tensor (shape {Fmt(Shape)}, strides {Fmt(Strides)})");
        return cs.Data.AsSpan(Offset, Numel);
    }

    /// <summary>Reads one element.</summary>
    /// <param name="index">One index per dimension.</param>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get
        {
            var host = ToDevice(Device.Cpu); // a dense copy for a device tensor: index it with its own strides
            return ((CpuStorage)host.Storage).Data[host.ElementOffset(index)];
        }
        set
        {
            if (Storage is not CpuStorage cs) throw new InvalidOperationException("element writes need a CPU tensor");
            cs.Data[ElementOffset(index)] = value;
        }
    }

    private int ElementOffset(int[] index)
    {
        if (index.Length != Rank) throw new ArgumentException($"{index.Length} indices for shape {Fmt(Shape)}");
        int o = Offset;
        for (int d = 0; d < Rank; d++)
        {
            int i = index[d] < 0 ? index[d] + Shape[d] : index[d];
            if (i < 0 || i >= Shape[d]) throw new IndexOutOfRangeException($"index {index[d]} out of range for dim {d} of shape {Fmt(Shape)}");
            o += i * Strides[d];
        }
        return o;
    }

    /// <summary>This tensor on another device (itself when already there).</summary>
    /// <param name="device">The target device.</param>
    /// <returns>The tensor on that device.</returns>
    public Tensor ToDevice(Device device)
    {
        if (device == Device) return this;
        var host = Device.Kind == DeviceKind.Cpu ? Contiguous() : FromArray(ToArray(), Shape);
        if (device.Kind == DeviceKind.Cpu) return host;
        var storage = Backends.For(device).FromHost(((CpuStorage)host.Storage).Data.AsSpan(host.Offset, host.Numel));
        return new Tensor(storage, (int[])Shape.Clone(), ContiguousStrides(Shape));
    }

    /// <summary>A dense row-major tensor with the same values (this tensor when already dense).</summary>
    /// <returns>The contiguous tensor.</returns>
    public Tensor Contiguous() => IsContiguous ? this : Clone();

    /// <summary>A dense copy with its own storage.</summary>
    /// <returns>The copy.</returns>
    public Tensor Clone()
    {
        var dst = Empty(Shape, Device);
        Backend.Copy(this, dst);
        return dst;
    }

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape) into this tensor, in place.</summary>
    /// <param name="src">The source values.</param>
    /// <returns>This tensor.</returns>
    public Tensor CopyFrom(Tensor src)
    {
        Backend.Copy(src.Device == Device ? src.Expand(Shape) : src.ToDevice(Device).Expand(Shape), this);
        return this;
    }

    /// <summary>Sets every element to a value, in place.</summary>
    /// <param name="value">The value.</param>
    /// <returns>This tensor.</returns>
    public Tensor Fill_(float value)
    {
        Backend.Fill(this, value);
        return this;
    }

    /// <summary>Formats a shape as <c>(2, 3, 4)</c>.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The text.</returns>
    public static string Fmt(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < shape.Length; i++) { if (i > 0) sb.Append(", "); sb.Append(shape[i]); }
        return sb.Append(')').ToString();
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder($"Tensor{Fmt(Shape)} on {Device}");
        if (Numel <= 16)
        {
            sb.Append(" [");
            var a = ToArray();
            for (int i = 0; i < a.Length; i++) { if (i > 0) sb.Append(", "); sb.Append(a[i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture)); }
            sb.Append(']');
        }
        return sb.ToString();
    }
}
