using System.CommandLine;
using System.Globalization;
using Sifa.Data;
using Sifa.Training;
using Sifa.Training.Explain;

namespace Sifa.Cli.Commands;

/// <summary>The <c>explain</c> command: what one SIFA block attends to in a video (the paper's Figure 5).</summary>
internal static class ExplainCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("explain", "Pictures of what a SIFA block attends to: frame t with the queries, frame t+1 with the k² deformed " +
                                         "sampling positions coloured by attention weight, the motion saliency map, a Grad-CAM, a contact sheet, and the raw arrays.");
        var ck = new CheckpointOptions();
        ck.AddTo(cmd);
        var video = new Argument<string?>("video") { Arity = ArgumentArity.ZeroOrOne, Description = "The video file (or use --synthetic)" };
        var synthetic = new Option<string?>("--synthetic") { Description = $"Explain a synthetic-motion clip of this class instead ({string.Join(", ", SyntheticMotionDataset.MotionClassNames)})" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed of the synthetic clip" };
        var block = new Option<string?>("--block") { Description = "The SIFA block, e.g. layer2.0.sifa (default: the first, the finest feature map)" };
        var frame = new Option<int?>("--frame") { Description = "Feature frame t (attends into t+1; default: the middle)" };
        var query = new Option<string[]>("--query") { AllowMultipleArgumentsPerToken = false, Description = "Query point y,x in pixels of the input frame (repeatable)" };
        var top = new Option<int>("--top") { DefaultValueFactory = _ => 3, Description = "Without --query: the N cells of highest motion saliency" };
        var outDir = new Option<string>("--out") { Required = true, Description = "Folder for the pictures and explain.safetensors" };
        cmd.Add(video);
        foreach (var o in new Option[] { synthetic, seed, block, frame, query, top, outDir }) cmd.Add(o);
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(video);
            var cls = pr.GetValue(synthetic);
            if ((path == null) == (cls == null)) throw new ArgumentException("give a video file or --synthetic CLASS (one of them)");
            int n = Checks.Range("--top", pr.GetValue(top), 1, 64);
            var queries = pr.GetValue(query)?.Select(ParseQuery).ToList();
            var dir = pr.GetValue(outDir)!;
            if (File.Exists(dir)) throw new ArgumentException($"--out {dir} is a file, not a folder");
            int label = cls == null ? -1 : IndexOfClass(cls);
            var loaded = ck.Load(pr, _ => cls != null ? SyntheticMotionDataset.MotionClassNames.Count
                : throw new ArgumentException("--classes is required: the checkpoint does not record its class names"));
            int frames = loaded.Clip.Frames, size = loaded.Clip.Size;
            float[] clip;
            if (cls != null)
                clip = SyntheticMotionDataset.Render(label, (ulong)pr.GetValue(seed), frames, size);
            else
            {
                var sample = loaded.Clip.TestPipeline(loaded.Normalization, 1, 1).Run(new VideoFileSource(path!), 0, new Random(0));
                clip = sample.Data;
            }
            var e = SifaExplainer.Explain(loaded.Model, clip, frames, size, loaded.Normalization, pr.GetValue(block), pr.GetValue(frame),
                queries is { Count: > 0 } ? queries : null, n);
            var names = loaded.ClassNames;
            var files = ExplainPictures.Write(e, dir, names);
            string Name(int i) => names != null && i < names.Count ? names[i] : i.ToString(CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(cls != null ? $"synthetic {cls} (seed {pr.GetValue(seed)})" : path)}: predicted {Name(e.Predicted)} ({e.Probabilities[e.Predicted]:F3})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"block {e.Block}: {e.FeatureHeight}x{e.FeatureWidth} features, frame {e.Frame} -> {Math.Min(e.Frame + 1, e.Frames - 1)} of {e.Frames}, k={e.K}"));
            int P = e.K * e.K;
            for (int q = 0; q < e.Queries.Length; q++)
            {
                int best = Enumerable.Range(0, P).MaxBy(j => e.Weights[q * P + j]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"query {e.Queries[q].Y},{e.Queries[q].X} (feature cell): strongest neighbour {best} at {e.Positions[(q * P + best) * 2]:F2},{e.Positions[(q * P + best) * 2 + 1]:F2} (weight {e.Weights[q * P + best]:G3})"));
            }
            if (e.GradCam.All(v => v == 0))
                Console.WriteLine("grad-cam: zero everywhere (no positive evidence for the predicted class at this block and frame; gradcam.png shows the plain frame)");
            foreach (var f in files) Console.WriteLine($"wrote {f}");
            return 0;
        });
        return cmd;
    }

    private static (int, int) ParseQuery(string s)
    {
        var p = s.Split(',');
        if (p.Length != 2 || !int.TryParse(p[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int y) || !int.TryParse(p[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int x))
            throw new ArgumentException($"--query '{s}': expected y,x in pixels, e.g. 12,20");
        return (y, x);
    }

    private static int IndexOfClass(string name)
    {
        var names = SyntheticMotionDataset.MotionClassNames;
        int i = names.ToList().FindIndex(n => n.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (i < 0 && int.TryParse(name, out int k) && k >= 0 && k < names.Count) i = k;
        return i >= 0 ? i : throw new ArgumentException($"--synthetic '{name}' is not a synthetic-motion class ({string.Join(", ", names)})");
    }
}
