using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sifa.Tensors.IO;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>The <c>info</c> command: what a checkpoint records about itself.</summary>
internal static class InfoCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("info", "Print what a checkpoint records: model, classes, clip geometry, normalisation, version, training command, parameters, epoch and metrics.");
        var path = new Argument<string>("checkpoint") { Description = "A .safetensors checkpoint" };
        cmd.Add(path);
        cmd.SetAction(pr =>
        {
            var p = pr.GetValue(path)!;
            var content = SafeTensors.Read(p);
            long elements = content.Tensors.Values.Sum(t => (long)t.Tensor.Numel);
            var r = CheckpointRecord.FromMetadata(content.Metadata, p);
            string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
            Console.WriteLine($"checkpoint   {p}");
            if (r == null)
            {
                Console.WriteLine("record       none: a checkpoint from before self-describing checkpoints (give --model, --classes, --frames, --size to use it)");
                Console.WriteLine(I($"tensors      {content.Tensors.Count} ({elements:N0} values)"));
                foreach (var (k, v) in content.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Console.WriteLine($"metadata     {k} = {v}");
                return 0;
            }
            var model = Checkpoint.Build(r, content, p);
            Console.WriteLine($"format       {content.Metadata[CheckpointRecord.FormatKey]}, written by Sifa {r.FrameworkVersion}");
            Console.WriteLine(I($"model        {r.Model.Preset}, {model.ParameterCount():N0} parameters ({content.Tensors.Count} tensors)"));
            Console.WriteLine($"model spec   {JsonSerializer.Serialize(JsonDocument.Parse(r.Model.ToJson()).RootElement)}");
            Console.WriteLine(I($"classes      {r.ClassNames.Count}: {string.Join(", ", r.ClassNames.Take(12))}{(r.ClassNames.Count > 12 ? ", ..." : "")}"));
            var c = r.Clip;
            Console.WriteLine(I($"clip         {c.Frames} frames every {c.Interval}, {c.Size}x{c.Size} (test: short side {c.TestShortSide}, {c.Views} views)"));
            Console.WriteLine(I($"normalise    mean {string.Join(", ", r.Normalization.Mean.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)))}, std {string.Join(", ", r.Normalization.Std.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)))}"));
            if (r.Dataset != null) Console.WriteLine($"trained on   {r.Dataset}");
            if (r.Command != null) Console.WriteLine($"command      {r.Command}");
            Console.WriteLine(I($"epoch        {r.Epoch}"));
            if (r.Metrics is { } m)
                Console.WriteLine(I($"metrics      train loss {m.TrainLoss:F4} top1 {m.TrainTop1:F3} | val loss {m.ValLoss:F4} top1 {m.ValTop1:F3} top5 {m.ValTop5:F3} | lr {m.Lr:G3} | step {m.Step}"));
            return 0;
        });
        return cmd;
    }
}
