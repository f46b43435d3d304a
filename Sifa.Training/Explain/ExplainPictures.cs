using System.Globalization;
using System.Text.Json;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Training.Explain;

/// <summary>
/// The pictures of a <see cref="SifaExplanation"/> (PNG) and its raw arrays (safetensors), written to one folder:
/// <list type="bullet">
/// <item><c>frame_t.png</c>: frame t with the query points (white rings) and the feature grid;</item>
/// <item><c>attention.png</c>: frame t+1 with the k² sampling positions of each query drawn where they landed, coloured
/// by attention weight (blue low, red high; per query), joined to their query;</item>
/// <item><c>saliency.png</c>: the motion saliency map sigmoid(Δ)·f_{t+1}, upsampled over frame t;</item>
/// <item><c>gradcam.png</c>: the Grad-CAM of the predicted class over frame t;</item>
/// <item><c>overview.png</c>: those four side by side; <c>contact_sheet.png</c>: every frame of the clip (t red, t+1 yellow);</item>
/// <item><c>explain.safetensors</c>: clip, offsets, weights, positions, saliency, Grad-CAM, queries, probabilities.</item>
/// </list>
/// </summary>
public static class ExplainPictures
{
    private static readonly (byte, byte, byte) White = (255, 255, 255), Black = (0, 0, 0), Red = (230, 40, 40), Yellow = (250, 210, 40);

    /// <summary>Writes every picture and the arrays into <paramref name="dir"/> (created); returns the files written.</summary>
    public static IReadOnlyList<string> Write(SifaExplanation e, string dir, IReadOnlyList<string>? classNames = null)
    {
        Directory.CreateDirectory(dir);
        int scale = Math.Max(1, (int)Math.Round(256.0 / e.Size));
        var (frameT, attention, saliency, gradcam) = Panels(e, scale);
        // The overview row is drawn smaller (about 160 px a panel), so that it stays a small file.
        var small = Panels(e, Math.Max(1, (int)Math.Ceiling(160.0 / e.Size)));
        var files = new List<string>();
        void Save(Raster r, string name) { var p = Path.Combine(dir, name); r.SavePng(p); files.Add(p); }
        Save(frameT, "frame_t.png");
        Save(attention, "attention.png");
        Save(saliency, "saliency.png");
        Save(gradcam, "gradcam.png");
        Save(Row([small.FrameT, small.Attention, small.Saliency, small.GradCam], 6), "overview.png");
        Save(ContactSheet(e), "contact_sheet.png");
        var arrays = Path.Combine(dir, "explain.safetensors");
        WriteArrays(e, arrays, classNames);
        files.Add(arrays);
        return files;
    }

    private static (Raster FrameT, Raster Attention, Raster Saliency, Raster GradCam) Panels(SifaExplanation e, int scale)
    {
        var frameT = Frame(e, e.InputFrame(e.Frame), scale);
        DrawGrid(frameT, e, scale);
        foreach (var (qy, qx) in e.Queries) QueryMark(frameT, e, qy, qx, scale);

        int nextFrame = e.InputFrame(Math.Min(e.Frame + 1, e.Frames - 1));
        var attention = Frame(e, nextFrame, scale);
        attention.Fill(0, 0, attention.Width, attention.Height, Black, 0.35f); // dim the frame so the dots read
        int P = e.K * e.K;
        double cell = (double)e.Size * scale / e.FeatureWidth;
        for (int q = 0; q < e.Queries.Length; q++)
        {
            var (qy, qx) = e.Queries[q];
            double cy = Px(e, qy, e.FeatureHeight, scale), cx = Px(e, qx, e.FeatureWidth, scale);
            QueryMark(attention, e, qy, qx, scale); // under the dots: a neighbour sampling at the query itself stays visible
            var w = e.Weights.AsSpan(q * P, P).ToArray();
            float lo = w.Min(), hi = w.Max();
            // Weakest first, so the strongest neighbour is drawn on top; stronger neighbours are drawn larger too.
            foreach (int j in Enumerable.Range(0, P).OrderBy(j => w[j]))
            {
                double py = Px(e, e.Positions[(q * P + j) * 2], e.FeatureHeight, scale), px = Px(e, e.Positions[(q * P + j) * 2 + 1], e.FeatureWidth, scale);
                attention.Line(cx, cy, px, py, White, 0.35f);
                float v = hi > lo ? (w[j] - lo) / (hi - lo) : 1f;
                attention.Disc(px, py, Math.Clamp(cell * 0.12, 2, 7) * (0.7 + 0.6 * v), Raster.Heat(v), Black);
            }
        }

        var saliency = Frame(e, e.InputFrame(e.Frame), scale);
        saliency.BlendHeat(e.Saliency, e.FeatureHeight, e.FeatureWidth);
        var gradcam = Frame(e, e.InputFrame(e.Frame), scale);
        gradcam.BlendHeat(e.GradCam, e.FeatureHeight, e.FeatureWidth);
        return (frameT, attention, saliency, gradcam);
    }

    private static double Px(SifaExplanation e, double feature, int featureSize, int scale) => (e.ToPixel(feature, featureSize) + 0.5) * scale - 0.5;

    private static Raster Frame(SifaExplanation e, int inputFrame, int scale)
    {
        int plane = 3 * e.Size * e.Size;
        return Raster.FromPlanar(e.Clip.AsSpan(inputFrame * plane, plane), e.Size, e.Size, scale);
    }

    private static void QueryMark(Raster r, SifaExplanation e, int qy, int qx, int scale)
    {
        double cy = Px(e, qy, e.FeatureHeight, scale), cx = Px(e, qx, e.FeatureWidth, scale);
        double rad = Math.Clamp((double)e.Size * scale / e.FeatureWidth * 0.3, 5, 14);
        r.Ring(cx, cy, rad + 1.5, Black, 2);
        r.Ring(cx, cy, rad, White, 2.5);
    }

    private static void DrawGrid(Raster r, SifaExplanation e, int scale)
    {
        for (int i = 1; i < e.FeatureWidth; i++)
        {
            int x = (int)Math.Round((double)i * e.Size * scale / e.FeatureWidth);
            r.Line(x, 0, x, r.Height - 1, White, 0.25f);
        }
        for (int i = 1; i < e.FeatureHeight; i++)
        {
            int y = (int)Math.Round((double)i * e.Size * scale / e.FeatureHeight);
            r.Line(0, y, r.Width - 1, y, White, 0.25f);
        }
    }

    private static Raster Row(IReadOnlyList<Raster> parts, int gap)
    {
        var r = new Raster(parts.Sum(p => p.Width) + gap * (parts.Count - 1), parts.Max(p => p.Height), White);
        int x = 0;
        foreach (var p in parts) { r.Paste(p, x, 0); x += p.Width + gap; }
        return r;
    }

    private static Raster ContactSheet(SifaExplanation e)
    {
        int n = e.Clip.Length / (3 * e.Size * e.Size), scale = Math.Max(1, (int)Math.Round(128.0 / e.Size)), cols = Math.Min(n, 8), gap = 6;
        int side = e.Size * scale, rows = (n + cols - 1) / cols;
        var sheet = new Raster(cols * (side + gap) + gap, rows * (side + gap) + gap, White);
        int ft = e.InputFrame(e.Frame), fn = e.InputFrame(Math.Min(e.Frame + 1, e.Frames - 1));
        for (int f = 0; f < n; f++)
        {
            int x = gap + f % cols * (side + gap), y = gap + f / cols * (side + gap);
            sheet.Paste(Frame(e, f, scale), x, y);
            if (f == ft) sheet.Outline(x - 3, y - 3, side + 6, side + 6, Red, 3);
            else if (f == fn) sheet.Outline(x - 3, y - 3, side + 6, side + 6, Yellow, 3);
        }
        return sheet;
    }

    private static void WriteArrays(SifaExplanation e, string path, IReadOnlyList<string>? classNames)
    {
        int n = e.Clip.Length / (3 * e.Size * e.Size), P = e.K * e.K, q = e.Queries.Length, h = e.FeatureHeight, w = e.FeatureWidth;
        NamedTensor F(float[] a, params int[] shape) => new("F32", Tensor.FromArray(a, shape));
        var tensors = new Dictionary<string, NamedTensor>
        {
            ["clip"] = F(e.Clip, n, 3, e.Size, e.Size),
            ["offsets"] = F(e.Offsets, 2 * P, h, w),
            ["weights"] = F(e.AllWeights, e.AllWeights.Length / (P * h * w), P, h, w),
            ["queries"] = F(e.Queries.SelectMany(c => new float[] { c.Y, c.X }).ToArray(), q, 2),
            ["positions"] = F(e.Positions, q, P, 2),
            ["query_weights"] = F(e.Weights, q, P),
            ["saliency"] = F(e.Saliency, h, w),
            ["gradcam"] = F(e.GradCam, h, w),
            ["probabilities"] = F(e.Probabilities, e.Probabilities.Length),
        };
        var meta = new Dictionary<string, string>
        {
            ["block"] = e.Block, ["frame"] = e.Frame.ToString(CultureInfo.InvariantCulture), ["k"] = e.K.ToString(CultureInfo.InvariantCulture),
            ["predicted"] = e.Predicted.ToString(CultureInfo.InvariantCulture),
            ["coordinates"] = "queries and positions are (row, column) in the block's feature map; pixel = (feature + 0.5) * size / feature_size - 0.5",
        };
        if (classNames != null) meta["classes"] = JsonSerializer.Serialize(classNames);
        SafeTensors.Write(path, tensors, meta);
    }
}
