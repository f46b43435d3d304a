using System.Text.Json;

namespace Sifa.Tests.Golden;

/// <summary>
/// A golden case's JSON config (or one of its nested objects), read strictly: an absent or null field gives the
/// default, a field of the wrong JSON type fails naming the case and the field, never falling back to the default.
/// </summary>
public sealed class GoldenConfig
{
    private readonly string _case, _path;

    /// <summary>Wraps an object of the case's config.</summary>
    /// <param name="caseName">The case, for messages.</param>
    /// <param name="path">The object's path inside the config (empty for the root), for messages.</param>
    /// <param name="element">The object.</param>
    public GoldenConfig(string caseName, string path, JsonElement element)
    {
        _case = caseName;
        _path = path;
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{caseName}: config{(path.Length > 0 ? " field '" + path + "'" : "")} must be a JSON object, got {element.ValueKind}");
        Element = element;
    }

    /// <summary>The JSON object.</summary>
    public JsonElement Element { get; }

    /// <summary>Whether the field is present and not null.</summary>
    public bool Has(string key) => Element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>An integer field (the default when absent or null).</summary>
    public int Int(string key, int fallback) => Field(key) is { } v ? AsInt(key, v) : fallback;

    /// <summary>A number field (the default when absent or null).</summary>
    public double Number(string key, double fallback) => Field(key) is { } v ? AsNumber(key, v) : fallback;

    /// <summary>A number field that must be present.</summary>
    public double Number(string key) => AsNumber(key, Required(key));

    /// <summary>A string field (the default when absent or null).</summary>
    public string Str(string key, string fallback) =>
        Field(key) is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString()! : throw WrongType(key, "a string", v) : fallback;

    /// <summary>A boolean field (the default when absent or null).</summary>
    public bool Bool(string key, bool fallback) =>
        Field(key) is { } v ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw WrongType(key, "a boolean", v) : fallback;

    /// <summary>An integer-list field; a single integer becomes a one-element list; null when absent.</summary>
    public int[]? IntList(string key) => Field(key) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } v => v.EnumerateArray().Select((e, i) => AsInt($"{key}[{i}]", e)).ToArray(),
        { ValueKind: JsonValueKind.Number } v => new[] { AsInt(key, v) },
        { } v => throw WrongType(key, "an integer or a list of integers", v),
    };

    /// <summary>A number-list field that must be present.</summary>
    public double[] Numbers(string key)
    {
        var v = Required(key);
        if (v.ValueKind != JsonValueKind.Array) throw WrongType(key, "a list of numbers", v);
        return v.EnumerateArray().Select((e, i) => AsNumber($"{key}[{i}]", e)).ToArray();
    }

    /// <summary>A nested object field, or null when absent.</summary>
    public GoldenConfig? Section(string key) => Field(key) is { } v ? new GoldenConfig(_case, Qualified(key), v) : null;

    private JsonElement? Field(string key) =>
        Element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private JsonElement Required(string key) =>
        Field(key) ?? throw new InvalidDataException($"{_case}: config field '{Qualified(key)}' is missing");

    private int AsInt(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw WrongType(key, "an integer", v);

    private double AsNumber(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw WrongType(key, "a number", v);

    private string Qualified(string key) => _path.Length == 0 ? key : _path + "." + key;

    private InvalidDataException WrongType(string key, string expected, JsonElement v) =>
        new($"{_case}: config field '{Qualified(key)}' must be {expected}, got {v.ValueKind} {v.GetRawText()}");
}
