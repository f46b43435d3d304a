using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// A model built to the official code's layout: <see cref="Pretrained"/> maps official state dicts onto it
/// (<see cref="OfficialKeys.Map"/>) before loading by name.
/// </summary>
public interface IOfficialLayout
{
    /// <summary>
    /// Whether a key the checkpoint lacks keeps its initialisation (the official loader's <c>strict=False</c> for the parts
    /// an ImageNet checkpoint has no weights for: global-context fc1/fc2, offset convs, temporal convs, tda_norm).
    /// </summary>
    /// <param name="key">A key of the model.</param>
    /// <returns>True when it may stay at its initialisation.</returns>
    bool KeptAtInitWhenMissing(string key);
}

/// <summary>What <see cref="OfficialKeys.Map"/> changed.</summary>
/// <param name="Items">The mapped state dict, in order.</param>
/// <param name="Squeezed">Conv weights stored 5-D (o, i, 1, kh, kw) that were squeezed to the model's 4-D.</param>
/// <param name="Renamed">Keys renamed (<c>conv_offset</c> → <c>sifa.offset_conv</c>).</param>
/// <param name="Copied">Keys copied from <c>layer4.*</c> to the missing <c>layer4_dual.*</c> (the official <c>transfer_weights</c>).</param>
/// <param name="Ignored">Keys dropped: the frozen <c>def_cor.weight</c> (always 1/C; the op applies it itself).</param>
public sealed record OfficialMapping(IReadOnlyList<KeyValuePair<string, Tensor>> Items, int Squeezed, int Renamed, int Copied,
    IReadOnlyList<string> Ignored)
{
    /// <summary>One line for the load report, or null when nothing changed.</summary>
    public string? Describe() => Squeezed + Renamed + Copied + Ignored.Count == 0 ? null
        : $"official layout: {Squeezed} conv weight(s) squeezed from 5-D, {Renamed} conv_offset -> sifa.offset_conv, " +
          $"{Copied} layer4 -> layer4_dual copied, {Ignored.Count} def_cor.weight ignored (fixed 1/C)";
}

/// <summary>
/// The official state-dict layout (FuchenUSTC/SIFA) ↔ this project's keys: <c>module.</c> prefixes stripped, conv weights
/// stored 5-D <c>(o, i, 1, kh, kw)</c> squeezed, <c>X.conv_offset.weight</c> ↔ <c>X.sifa.offset_conv.weight</c>,
/// <c>def_cor.weight</c> ignored; with no <c>layer4_dual.*</c> in the source, <c>layer4.*</c> fills it (as the official
/// ImageNet transfer does). Everything else (bn, fc, fc_dual, fc1/fc2, Swin keys) is the same name.
/// </summary>
public static class OfficialKeys
{
    private const string OfficialOffset = ".conv_offset.weight", OwnOffset = ".sifa.offset_conv.weight";

    /// <summary>Whether a key belongs to a global-context branch (<c>layerN[_dual].j.fc1/fc2</c>).</summary>
    /// <param name="key">A model key.</param>
    /// <returns>True for the global-context linears.</returns>
    public static bool IsGlobalContext(string key) =>
        key.StartsWith("layer", StringComparison.Ordinal) && (key.Contains(".fc1.", StringComparison.Ordinal) || key.Contains(".fc2.", StringComparison.Ordinal));

    /// <summary>Maps an official state dict onto <paramref name="model"/>'s keys and shapes.</summary>
    /// <param name="source">Checkpoint key → tensor, in order.</param>
    /// <param name="model">The model (its state-dict shapes decide which 5-D kernels are squeezed).</param>
    /// <returns>The mapped state dict and what changed.</returns>
    public static OfficialMapping Map(IReadOnlyList<KeyValuePair<string, Tensor>> source, Module model)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(model);
        var shapes = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Tensor.Shape, StringComparer.Ordinal);
        var items = new List<KeyValuePair<string, Tensor>>();
        var ignored = new List<string>();
        int squeezed = 0, renamed = 0;
        foreach (var (raw, value) in source)
        {
            var key = raw.StartsWith("module.", StringComparison.Ordinal) ? raw["module.".Length..] : raw;
            if (key.EndsWith("def_cor.weight", StringComparison.Ordinal)) { ignored.Add(raw); continue; }
            if (key.EndsWith(OfficialOffset, StringComparison.Ordinal))
            {
                key = key[..^OfficialOffset.Length] + OwnOffset;
                renamed++;
            }
            var t = value;
            if (t.Rank == 5 && t.Shape[2] == 1 && shapes.TryGetValue(key, out var want) && want.Length == 4
                && want[0] == t.Shape[0] && want[1] == t.Shape[1] && want[2] == t.Shape[3] && want[3] == t.Shape[4])
            {
                t = t.Reshape(want);
                squeezed++;
            }
            items.Add(new(key, t));
        }
        int copied = 0;
        if (shapes.Keys.Any(k => k.StartsWith("layer4_dual.", StringComparison.Ordinal))
            && !items.Any(kv => kv.Key.StartsWith("layer4_dual.", StringComparison.Ordinal)))
        {
            foreach (var kv in items.Where(kv => kv.Key.StartsWith("layer4.", StringComparison.Ordinal)).ToList())
            {
                items.Add(new("layer4_dual." + kv.Key["layer4.".Length..], kv.Value));
                copied++;
            }
        }
        return new OfficialMapping(items, squeezed, renamed, copied, ignored);
    }
}
