using Sifa.Tensors.IO;

namespace Sifa.Nn.Checkpoints.Pth;

/// <summary>Converts a PyTorch <c>.pth</c> state dict into a safetensors file (the <c>sifa convert</c> command).</summary>
public static class PthConverter
{
    /// <summary>
    /// Loads the state dict of <paramref name="input"/> and writes its tensors to <paramref name="output"/>:
    /// floating-point tensors as <c>F32</c>, integer and bool tensors as <c>I64</c>. The metadata records the
    /// source file (<c>source</c>), the format (<c>format</c>: zip or legacy), the container key (<c>container</c>:
    /// <c>model</c>, <c>state_dict</c> or <c>None</c> for the top level) and each tensor's stored dtype
    /// (<c>dtypes</c>, a JSON object).
    /// </summary>
    /// <param name="input">The <c>.pth</c> file.</param>
    /// <param name="output">The <c>.safetensors</c> file to write (replaced atomically).</param>
    /// <param name="log">Where progress and errors are written.</param>
    /// <returns>0 on success, 1 when the input cannot be read or holds no state dict, 2 when the output cannot be written.</returns>
    public static int Convert(string input, string output, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(log);
        PthStateDict sd;
        try { sd = PthFile.LoadStateDict(input); }
        catch (CheckpointFormatException e)
        {
            log.WriteLine($"error: {e.Message}");
            return 1;
        }
        log.WriteLine($"{input}: {sd.Format.ToString().ToLowerInvariant()} checkpoint, state dict {(sd.ContainerKey is null ? "at the top level" : $"under '{sd.ContainerKey}'")}, {sd.Count} tensors");
        if (sd.SkippedKeys.Count > 0)
            log.WriteLine($"skipped {sd.SkippedKeys.Count} non-tensor entries: {string.Join(", ", sd.SkippedKeys)}");
        var tensors = sd.Select(p => new KeyValuePair<string, NamedTensor>(p.Key, new NamedTensor(p.Value.IsFloatingPoint ? "F32" : "I64", p.Value.Tensor)));
        var metadata = new Dictionary<string, string>
        {
            ["source"] = Path.GetFileName(input),
            ["format"] = sd.Format == PthFormat.Zip ? "zip" : "legacy",
            ["container"] = sd.ContainerKey ?? "None",
            ["dtypes"] = System.Text.Json.JsonSerializer.Serialize(sd.ToDictionary(p => p.Key, p => p.Value.DType)),
        };
        try { SafeTensors.Write(output, tensors, metadata); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.WriteLine($"error: cannot write {output}: {e.Message}");
            return 2;
        }
        log.WriteLine($"wrote {sd.Count} tensors to {output}");
        return 0;
    }
}
