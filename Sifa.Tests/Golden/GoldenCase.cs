using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Tests.Golden;

using Tensor = Sifa.Tensors.Tensor;

/// <summary>
/// One golden file (SPEC section 7): its tensors (<c>in.*</c>, <c>param.*</c>, <c>buf.*</c>, <c>dy.*</c>, <c>out.*</c>,
/// <c>grad.*</c>, <c>buf_after.*</c>), its case name, kind and JSON config, and the single-op tolerance check.
/// </summary>
public sealed class GoldenCase
{
    /// <summary>Absolute tolerance of single-op comparisons.</summary>
    public const double Atol = 1e-4;

    /// <summary>Relative tolerance of single-op comparisons.</summary>
    public const double Rtol = 1e-3;

    private readonly IReadOnlyDictionary<string, NamedTensor> _tensors;

    /// <summary>Reads a golden file.</summary>
    /// <param name="path">The safetensors file.</param>
    public GoldenCase(string path)
    {
        Path = path;
        var content = SafeTensors.Read(path);
        _tensors = content.Tensors;
        Metadata = content.Metadata;
        Name = Metadata.TryGetValue("case", out var n) && n.Length > 0 ? n : System.IO.Path.GetFileNameWithoutExtension(path);
        Kind = Metadata.TryGetValue("kind", out var k) ? k : "";
        using var doc = JsonDocument.Parse(Metadata.TryGetValue("config", out var cfg) && cfg.Length > 0 ? cfg : "{}");
        Config = doc.RootElement.Clone();
        Settings = new GoldenConfig(Name, "", Config);
    }

    /// <summary>The device the case runs on: <see cref="T"/> returns its tensors there (the CPU unless set).</summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>Reads a golden file (same as the constructor).</summary>
    /// <param name="path">The safetensors file.</param>
    /// <returns>The case.</returns>
    public static GoldenCase Load(string path) => new(path);

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The case name (metadata <c>case</c>, else the file name).</summary>
    public string Name { get; }

    /// <summary>The kind (metadata <c>kind</c>) the runner dispatches on.</summary>
    public string Kind { get; }

    /// <summary>The parsed <c>config</c> metadata (an empty object when absent).</summary>
    public JsonElement Config { get; }

    /// <summary>The config, read strictly (wrong field types fail naming the case and field).</summary>
    public GoldenConfig Settings { get; }

    /// <summary>All string metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names in file order.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>Whether the file holds a tensor.</summary>
    /// <param name="name">Full tensor name, e.g. <c>grad.in.x</c>.</param>
    /// <returns>True when present.</returns>
    public bool Has(string name) => _tensors.ContainsKey(name);

    /// <summary>A fresh float32 copy of a tensor (integer tensors are converted), so callers may modify it.</summary>
    /// <param name="name">Full tensor name.</param>
    /// <returns>The tensor.</returns>
    public Tensor T(string name) => Get(name).Tensor.Clone().ToDevice(Device);

    /// <summary>The stored dtype of a tensor (F32, I64, ...).</summary>
    /// <param name="name">Full tensor name.</param>
    /// <returns>The dtype.</returns>
    public string DType(string name) => Get(name).DType;

    /// <summary>An integer tensor as ints (e.g. class targets).</summary>
    /// <param name="name">Full tensor name.</param>
    /// <returns>The values.</returns>
    public int[] Ints(string name) => Get(name).Tensor.ToArray().Select(v => checked((int)MathF.Round(v))).ToArray();

    private NamedTensor Get(string name) => _tensors.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"{Name}: golden file {Path} has no tensor '{name}' (it has {string.Join(", ", _tensors.Keys)})");

    /// <summary>An integer config value (the default when absent or null; a wrong JSON type fails).</summary>
    public int Int(string key, int fallback) => Settings.Int(key, fallback);

    /// <summary>A string config value (the default when absent or null; a wrong JSON type fails).</summary>
    public string Str(string key, string fallback) => Settings.Str(key, fallback);

    /// <summary>A number config value (the default when absent or null; a wrong JSON type fails).</summary>
    public double Number(string key, double fallback) => Settings.Number(key, fallback);

    /// <summary>A boolean config value (the default when absent or null; a wrong JSON type fails).</summary>
    public bool Bool(string key, bool fallback) => Settings.Bool(key, fallback);

    /// <summary>An integer-list config value; a single number becomes a one-element list; null when absent.</summary>
    public int[]? IntList(string key) => Settings.IntList(key);

    /// <summary>
    /// Asserts that <paramref name="actual"/> matches the stored tensor <paramref name="name"/> within
    /// |a − b| ≤ 1e-4 + 1e-3·|b| (same shape; a 0-d and a one-element tensor compare equal), reporting the tensor,
    /// the worst element and the largest error.
    /// </summary>
    /// <param name="name">Full tensor name of the expected value.</param>
    /// <param name="actual">The computed value.</param>
    public void AssertClose(string name, Tensor? actual)
    {
        if (actual == null) Assert.Fail($"{Name}: {name} was not computed (null)");
        var expected = Get(name).Tensor;
        bool sameShape = expected.Shape.AsSpan().SequenceEqual(actual!.Shape) || (expected.Numel == 1 && actual.Numel == 1);
        if (!sameShape) Assert.Fail($"{Name}: {name} has shape {Tensor.Fmt(actual.Shape)}, expected {Tensor.Fmt(expected.Shape)}");
        var a = actual.ToArray();
        var b = expected.ToArray();
        double maxErr = 0, worstRatio = 0;
        int worst = -1;
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs((double)a[i] - b[i]);
            double ratio = err / (Atol + Rtol * Math.Abs(b[i]));
            if (double.IsNaN(err)) { ratio = double.PositiveInfinity; err = double.PositiveInfinity; }
            if (err > maxErr) maxErr = err;
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
        }
        if (worstRatio > 1)
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: {name} {Tensor.Fmt(expected.Shape)} differs: max |a-b| = {maxErr:G4}; worst at flat index {worst}: got {a[worst]:G7}, expected {b[worst]:G7} (tolerance {Atol} + {Rtol}·|b|)"));
    }

    /// <summary>
    /// The whole-model check of SPEC section 7: max|a − b| ≤ <paramref name="relative"/>·max|b| over the tensor
    /// (same shape), reporting the tensor name and both maxima.
    /// </summary>
    /// <param name="name">Full tensor name of the expected value.</param>
    /// <param name="actual">The computed value.</param>
    /// <param name="relative">The relative bound (2e-3 for model cases).</param>
    public void AssertCloseToMax(string name, Tensor? actual, double relative = 2e-3)
    {
        if (actual == null) Assert.Fail($"{Name}: {name} was not computed (null)");
        var expected = Get(name).Tensor;
        if (!expected.Shape.AsSpan().SequenceEqual(actual!.Shape) && !(expected.Numel == 1 && actual.Numel == 1))
            Assert.Fail($"{Name}: {name} has shape {Tensor.Fmt(actual.Shape)}, expected {Tensor.Fmt(expected.Shape)}");
        var a = actual.ToArray();
        var b = expected.ToArray();
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs((double)a[i] - b[i]);
            maxErr = double.IsNaN(err) ? double.PositiveInfinity : Math.Max(maxErr, err);
            maxRef = Math.Max(maxRef, Math.Abs((double)b[i]));
        }
        if (!(maxErr <= relative * maxRef))
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"{Name}: {name} {Tensor.Fmt(expected.Shape)} differs: max |a-b| = {maxErr:G4} > {relative}·max|b| = {relative * maxRef:G4}"));
    }

    /// <summary>Reads only the kind from a file's header (cheap; null when unreadable).</summary>
    /// <param name="path">The safetensors file.</param>
    /// <returns>The kind metadata, or null.</returns>
    public static string? PeekKind(string path)
    {
        try
        {
            using var f = File.OpenRead(path);
            Span<byte> len = stackalloc byte[8];
            f.ReadExactly(len);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
            if (n > 100_000_000 || (long)n > f.Length - 8) return null;
            var header = new byte[n];
            f.ReadExactly(header);
            using var doc = JsonDocument.Parse(header);
            return doc.RootElement.TryGetProperty("__metadata__", out var m) && m.TryGetProperty("kind", out var k) ? k.GetString() : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
