using Sifa.Nn;
using Sifa.Nn.Checkpoints.Pth;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Models;

/// <summary>A stem weight inflated from a 2D kernel <c>(out,3,kh,kw)</c> to <c>(out,3,s,kh,kw)</c>.</summary>
/// <param name="Key">The state-dict key.</param>
/// <param name="SourceShape">The checkpoint's 4-D shape.</param>
/// <param name="ModelShape">The model's 5-D shape.</param>
/// <param name="CentreTap">The temporal tap holding the 2D kernel (<c>s/2</c>); the other taps are zero.</param>
public sealed record InflatedKey(string Key, int[] SourceShape, int[] ModelShape, int CentreTap);

/// <summary>What <see cref="Pretrained.LoadInto"/> did with every key.</summary>
/// <param name="Source">The checkpoint file.</param>
/// <param name="Format">The file format: <c>zip</c>, <c>legacy</c> (PyTorch) or <c>safetensors</c>.</param>
/// <param name="ContainerKey">The key the state dict was found under (<c>model</c>, <c>state_dict</c>), or null at top level.</param>
/// <param name="Loaded">Keys copied unchanged into the model.</param>
/// <param name="Inflated">Stem weights inflated from 2D (also loaded).</param>
/// <param name="ReinitialisedClassifier">Classifier keys (<c>fc.*</c>, <c>head.*</c>) left freshly initialised because the class count differs.</param>
/// <param name="KeptAtInit">SIFA parameters missing from the checkpoint, kept at their initialisation.</param>
/// <param name="Ignored">Checkpoint keys dropped: derived buffers recomputed by the model (<c>attn_mask</c>, <c>relative_position_index</c>).</param>
public sealed record PretrainedReport(
    string Source,
    string Format,
    string? ContainerKey,
    IReadOnlyList<string> Loaded,
    IReadOnlyList<InflatedKey> Inflated,
    IReadOnlyList<string> ReinitialisedClassifier,
    IReadOnlyList<string> KeptAtInit,
    IReadOnlyList<string> Ignored)
{
    /// <summary>
    /// Further lines for the summary: the official layout mapping (<see cref="OfficialKeys"/>) and the checkpoint entries
    /// beside the state dict that were skipped (e.g. <c>skipped argparse.Namespace 'opt'</c>: read as data, never executed).
    /// </summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();

    /// <summary>A short multi-line summary.</summary>
    /// <returns>The text.</returns>
    public string Summary()
    {
        var lines = new List<string>
        {
            $"pretrained: {Source} ({Format}{(ContainerKey != null ? $", state dict under '{ContainerKey}'" : "")})",
            $"  loaded {Loaded.Count} key(s)",
        };
        foreach (var i in Inflated)
            lines.Add($"  inflated {i.Key}: {Tensor.Fmt(i.SourceShape)} -> {Tensor.Fmt(i.ModelShape)} (2D kernel at centre tap {i.CentreTap})");
        if (ReinitialisedClassifier.Count > 0)
            lines.Add($"  classifier re-initialised (class count differs): {string.Join(", ", ReinitialisedClassifier)}");
        if (KeptAtInit.Count > 0)
            lines.Add($"  kept at init (not in checkpoint): {KeptAtInit.Count} SIFA key(s): {string.Join(", ", KeptAtInit)}");
        if (Ignored.Count > 0)
            lines.Add($"  ignored (derived, recomputed): {Ignored.Count} key(s)");
        foreach (var n in Notes) lines.Add($"  {n}");
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// Import of pretrained checkpoints (SPEC section 6): PyTorch <c>.pth</c> (zip or legacy; the state dict at the
/// top level or under <c>model</c> / <c>state_dict</c>) or <c>.safetensors</c>, including inflation of a 2D
/// ImageNet checkpoint into a video model.
/// </summary>
public static class Pretrained
{
    private static readonly string[] DerivedNames = { "attn_mask", "relative_position_index" };
    private static readonly string[] ClassifierPrefixes = { "fc.", "head." };

    /// <summary>
    /// Loads a checkpoint into <paramref name="model"/>. Derived buffers (<c>attn_mask</c>,
    /// <c>relative_position_index</c>) in the checkpoint are dropped (the model recomputes them); a classifier
    /// (<c>fc.*</c>, <c>head.*</c>) whose shape differs is left freshly initialised; SIFA parameters
    /// (<c>sifa.*</c>, <c>sifa_norm.*</c>) missing from the checkpoint keep their initialisation; a 5-D model
    /// stem weight <c>(out,3,s,kh,kw)</c> given a 4-D checkpoint weight <c>(out,3,kh,kw)</c> gets the 2D kernel
    /// at the centre tap <c>s/2</c> and zeros elsewhere. Every other missing, unexpected or mis-shaped key is an
    /// error that names the keys; everything is validated before anything is copied, so on error the model is unchanged.
    /// </summary>
    /// <param name="model">The model to load into.</param>
    /// <param name="path">A <c>.pth</c> or <c>.safetensors</c> file.</param>
    /// <param name="log">Where to print a short summary, or null.</param>
    /// <returns>What was done with each key.</returns>
    /// <exception cref="InvalidDataException">The file cannot be read or is malformed (the message names the file).</exception>
    /// <exception cref="StateDictException">The checkpoint does not fit the model (the message names every problem key).</exception>
    public static PretrainedReport LoadInto(Module model, string path, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        var (source, format, container, skipped) = ReadCheckpoint(path);
        var report = Apply(model, source, path, format, container);
        if (skipped.Count > 0) report = report with { Notes = report.Notes.Concat(skipped).ToList() };
        log?.WriteLine(report.Summary());
        return report;
    }

    /// <summary>
    /// Applies an in-memory state dict with the rules of <see cref="LoadInto"/>.
    /// </summary>
    /// <param name="model">The model to load into.</param>
    /// <param name="source">Checkpoint key → values, in order.</param>
    /// <param name="sourceName">A name for messages.</param>
    /// <param name="format">The format named in the report.</param>
    /// <param name="containerKey">The container key named in the report.</param>
    /// <returns>What was done with each key.</returns>
    /// <exception cref="StateDictException">The state dict does not fit the model.</exception>
    public static PretrainedReport Apply(Module model, IReadOnlyList<KeyValuePair<string, Tensor>> source, string sourceName,
        string format = "memory", string? containerKey = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        var notes = new List<string>();
        var ignored = new List<string>();
        var official = model as IOfficialLayout;
        if (official != null)
        {
            var mapping = OfficialKeys.Map(source, model);
            source = mapping.Items;
            ignored.AddRange(mapping.Ignored);
            if (mapping.Describe() is { } line) notes.Add(line);
        }
        var modelShapes = new Dictionary<string, int[]>();
        var modelOrder = new List<string>();
        foreach (var kv in model.StateDict())
        {
            modelShapes[kv.Key] = kv.Value.Tensor.Shape;
            modelOrder.Add(kv.Key);
        }

        // DataParallel checkpoints prefix every key with "module.".
        if (source.Count > 0 && source.All(kv => kv.Key.StartsWith("module.", StringComparison.Ordinal))
            && !modelOrder.Any(k => k.StartsWith("module.", StringComparison.Ordinal)))
            source = source.Select(kv => new KeyValuePair<string, Tensor>(kv.Key["module.".Length..], kv.Value)).ToList();

        var loaded = new List<string>();
        var inflated = new List<InflatedKey>();
        var unexpected = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var classifierMismatch = new List<string>();
        var toLoad = new Dictionary<string, Tensor>();
        var given = new HashSet<string>();

        foreach (var (key, value) in source)
        {
            if (IsDerived(key)) { ignored.Add(key); continue; }
            given.Add(key);
            if (!modelShapes.TryGetValue(key, out var want)) { unexpected.Add(key); continue; }
            var have = value.Shape;
            if (want.AsSpan().SequenceEqual(have)) { toLoad[key] = value; loaded.Add(key); continue; }
            if (want.Length == 5 && have.Length == 4 && want[0] == have[0] && want[1] == have[1] && want[3] == have[2] && want[4] == have[3])
            {
                int tap = want[2] / 2;
                toLoad[key] = Inflate(value, want[2], tap);
                inflated.Add(new InflatedKey(key, (int[])have.Clone(), (int[])want.Clone(), tap));
                continue;
            }
            if (IsClassifier(key)) { classifierMismatch.Add(key); continue; }
            mismatched.Add(new ShapeMismatch(key, (int[])have.Clone(), (int[])want.Clone()));
        }

        // A classifier with another class count is left at its fresh initialisation, all of it (weight and bias).
        var reinit = new List<string>();
        if (classifierMismatch.Count > 0)
        {
            var prefixes = classifierMismatch.Select(ClassifierPrefix).Distinct().ToList();
            foreach (var k in modelOrder.Where(k => prefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))))
            {
                reinit.Add(k);
                toLoad.Remove(k);
                loaded.Remove(k);
            }
        }

        var missing = new List<string>();
        var keptAtInit = new List<string>();
        foreach (var k in modelOrder)
        {
            if (given.Contains(k) || IsDerived(k)) continue;
            if (reinit.Contains(k)) continue;
            if (IsSifa(k) || official?.KeptAtInitWhenMissing(k) == true) keptAtInit.Add(k);
            else missing.Add(k);
        }

        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
            throw new StateDictException(new LoadResult(Array.Empty<string>(), missing, unexpected, mismatched), sourceName);

        var r = model.LoadStateDict(toLoad, strict: false, source: sourceName);
        if (r.UnexpectedKeys.Count > 0 || r.MismatchedKeys.Count > 0 || r.LoadedKeys.Count != toLoad.Count)
            throw new InvalidOperationException($"{sourceName}: internal error: validated keys did not load: {r.Describe()}");
        return new PretrainedReport(sourceName, format, containerKey, loaded, inflated, reinit, keptAtInit, ignored) { Notes = notes };
    }

    /// <summary>
    /// Inflates a 2D kernel <c>(out,in,kh,kw)</c> to <c>(out,in,s,kh,kw)</c> with the kernel at temporal tap
    /// <paramref name="tap"/> and zeros at the other taps.
    /// </summary>
    /// <param name="kernel">The 2D kernel.</param>
    /// <param name="s">The temporal extent.</param>
    /// <param name="tap">The tap holding the kernel.</param>
    /// <returns>The 5-D kernel.</returns>
    public static Tensor Inflate(Tensor kernel, int s, int tap)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.Rank != 4) throw new ArgumentException($"expected a 4-D kernel, got {Tensor.Fmt(kernel.Shape)}", nameof(kernel));
        if (s < 1 || tap < 0 || tap >= s) throw new ArgumentOutOfRangeException(nameof(tap), $"tap {tap} outside 0..{s - 1}");
        var src = kernel.ToArray();
        int o = kernel.Shape[0], i = kernel.Shape[1], hw = kernel.Shape[2] * kernel.Shape[3];
        var dst = new float[(long)o * i * s * hw];
        for (int a = 0; a < o * i; a++)
            Array.Copy(src, (long)a * hw, dst, ((long)a * s + tap) * hw, hw);
        return Tensor.FromArray(dst, o, i, s, kernel.Shape[2], kernel.Shape[3]);
    }

    private static (List<KeyValuePair<string, Tensor>> Items, string Format, string? Container, IReadOnlyList<string> Skipped) ReadCheckpoint(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var c = SafeTensors.Read(path);
            return (c.Tensors.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.Tensor)).ToList(), "safetensors", null, Array.Empty<string>());
        }
        var sd = PthFile.LoadStateDict(path);
        var fmt = sd.Format == PthFormat.Zip ? "zip" : sd.Format.ToString().ToLowerInvariant();
        return (sd.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.Tensor)).ToList(), fmt, sd.ContainerKey, sd.SkippedEntries);
    }

    private static string LastSegment(string key)
    {
        int dot = key.LastIndexOf('.');
        return dot < 0 ? key : key[(dot + 1)..];
    }

    private static bool IsDerived(string key) => DerivedNames.Contains(LastSegment(key));

    private static bool IsClassifier(string key) => ClassifierPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    private static string ClassifierPrefix(string key) => ClassifierPrefixes.First(p => key.StartsWith(p, StringComparison.Ordinal));

    private static bool IsSifa(string key)
    {
        var parts = key.Split('.');
        return parts.Contains("sifa") || parts.Contains("sifa_norm");
    }
}
