using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;

namespace Sifa.Training.Explain;

/// <summary>What one SIFA block attended to in one clip, at one feature frame (see <see cref="SifaExplainer"/>).</summary>
public sealed record SifaExplanation
{
    /// <summary>The block's module key (e.g. <c>layer2.0.sifa</c>).</summary>
    public required string Block { get; init; }
    /// <summary>Feature frame t (frame t attends into frame t+1).</summary>
    public required int Frame { get; init; }
    /// <summary>Feature frames per clip.</summary>
    public required int Frames { get; init; }
    /// <summary>Input frames per feature frame (the stem's temporal stride).</summary>
    public required int TemporalStride { get; init; }
    /// <summary>Feature map height h.</summary>
    public required int FeatureHeight { get; init; }
    /// <summary>Feature map width w.</summary>
    public required int FeatureWidth { get; init; }
    /// <summary>Input frame side S.</summary>
    public required int Size { get; init; }
    /// <summary>Local size k.</summary>
    public required int K { get; init; }
    /// <summary>The clip as shown: (T_in, 3, S, S) RGB on [0, 1].</summary>
    public required float[] Clip { get; init; }
    /// <summary>Class probabilities.</summary>
    public required float[] Probabilities { get; init; }
    /// <summary>The predicted class (the Grad-CAM's target).</summary>
    public required int Predicted { get; init; }
    /// <summary>The query cells (row, column) in the feature map.</summary>
    public required (int Y, int X)[] Queries { get; init; }
    /// <summary>(queries, k², 2): where each neighbour of each query sampled frame t+1, in feature coordinates
    /// (row, column), from the offsets the op was called with.</summary>
    public required float[] Positions { get; init; }
    /// <summary>(queries, k²): each neighbour's attention weight (mean over correlation groups).</summary>
    public required float[] Weights { get; init; }
    /// <summary>(h, w): the motion saliency map sigmoid(x_{t+1} - x_t)·x_{t+1} of the block's input, mean over channels.</summary>
    public required float[] Saliency { get; init; }
    /// <summary>(h, w): Grad-CAM of the predicted class at the block's output, frame t.</summary>
    public required float[] GradCam { get; init; }
    /// <summary>(2k², h, w): the offsets of frame t.</summary>
    public required float[] Offsets { get; init; }
    /// <summary>(G, k², h, w): the weights of frame t.</summary>
    public required float[] AllWeights { get; init; }

    /// <summary>A feature coordinate (row or column) as a pixel coordinate of the input frame (centres aligned).</summary>
    public double ToPixel(double feature, int featureSize) => (feature + 0.5) * Size / featureSize - 0.5;

    /// <summary>The input frame shown for feature frame <paramref name="t"/> (the first of its stride group).</summary>
    public int InputFrame(int t) => Math.Min(t * TemporalStride, Clip.Length / (3 * Size * Size) - 1);
}

/// <summary>
/// Looks inside a SIFA block (the paper's Figure 5): runs a clip through the model with a <see cref="SifaCapture"/>
/// on one block, reads the offsets the SIFA op was called with and the weights it computed, and derives the sampling
/// positions of chosen queries, the motion saliency map and a Grad-CAM of the predicted class.
/// </summary>
public static class SifaExplainer
{
    /// <summary>The module keys of the model's SIFA blocks, in forward order.</summary>
    public static IReadOnlyList<string> Blocks(VideoModel model) =>
        model.NamedModules().Where(m => m.Module is SifaBlock).Select(m => m.Name).ToList();

    /// <summary>Explains one clip.</summary>
    /// <param name="model">The model (its weights loaded).</param>
    /// <param name="clip">The normalised clip (T, 3, S, S), as the model takes it.</param>
    /// <param name="frames">Input frames T.</param>
    /// <param name="size">Frame side S.</param>
    /// <param name="normalization">How the clip was normalised (to show it).</param>
    /// <param name="block">The block's key; null takes the first SIFA block (the finest feature map).</param>
    /// <param name="frame">Feature frame t; null takes the middle one that has a next frame.</param>
    /// <param name="queries">Query points as (row, column) pixels of the input frame; null picks <paramref name="top"/> cells.</param>
    /// <param name="top">Without queries: the cells of highest motion saliency.</param>
    /// <exception cref="ArgumentException">The block, frame or a query is out of range (the message names it).</exception>
    public static SifaExplanation Explain(VideoModel model, float[] clip, int frames, int size, InputNormalization normalization,
        string? block = null, int? frame = null, IReadOnlyList<(int Y, int X)>? queries = null, int top = 3)
    {
        var blocks = Blocks(model);
        if (blocks.Count == 0) throw new ArgumentException("the model has no SIFA block to explain (a C2D model?)");
        string name = block ?? blocks[0];
        var sifa = model.NamedModules().FirstOrDefault(m => m.Name == name).Module as SifaBlock
            ?? throw new ArgumentException($"--block '{name}' is not a SIFA block of this model; its blocks: {string.Join(", ", blocks)}");
        var capture = new SifaCapture();
        sifa.Capture = capture;
        bool was = model.IsTraining;
        model.Eval();
        float[] probs;
        int predicted;
        try
        {
            var input = new Variable(Tensor.FromArray((float[])clip.Clone(), 1, frames, 3, size, size).ToDevice(model.Device));
            var logits = model.Forward(input);
            var l = logits.Data.ToArray();
            predicted = Array.IndexOf(l, l.Max());
            probs = Softmax(l);
            var seed = new float[l.Length];
            seed[predicted] = 1f;
            logits.Backward(Tensor.FromArray(seed, 1, l.Length).ToDevice(model.Device));
        }
        finally
        {
            sifa.Capture = null;
            foreach (var p in model.Parameters()) p.Grad = null;
            model.Train(was);
        }
        var x = capture.Input!.ToArray();
        int nt = capture.Input.Shape[0], c = capture.Input.Shape[1], h = capture.Input.Shape[2], w = capture.Input.Shape[3];
        int T = capture.Frames, k = capture.Options.K, P = k * k, G = capture.Options.Groups, hw = h * w;
        if (nt != T) throw new ArgumentException($"explain takes one clip, got {nt / T}");
        int t = frame ?? Math.Max(0, (T - 2) / 2);
        if (t < 0 || t >= T) throw new ArgumentException($"--frame {t} is outside the block's {T} frames (0..{T - 1})");
        int next = t < T - 1 ? t + 1 : t;
        var saliency = new float[hw];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < hw; i++)
            {
                float a = x[(t * c + ch) * hw + i], b = x[(next * c + ch) * hw + i];
                saliency[i] += 1f / (1f + MathF.Exp(a - b)) * b / c; // sigmoid(b - a) · b, channel mean
            }
        var y = capture.Output!.ToArray();
        var g = capture.OutputGrad?.ToArray() ?? new float[y.Length];
        var cam = new float[hw];
        for (int ch = 0; ch < c; ch++)
        {
            float alpha = 0;
            for (int i = 0; i < hw; i++) alpha += g[(t * c + ch) * hw + i] / hw;
            for (int i = 0; i < hw; i++) cam[i] += alpha * y[(t * c + ch) * hw + i];
        }
        for (int i = 0; i < hw; i++) cam[i] = Math.Max(0, cam[i]);

        var cells = queries != null
            ? queries.Select(q => ToCell(q, size, h, w)).ToArray()
            : Enumerable.Range(0, hw).OrderByDescending(i => saliency[i]).Take(Math.Clamp(top, 1, hw)).Select(i => (i / w, i % w)).ToArray();
        var positions = new float[cells.Length * P * 2];
        var weights = new float[cells.Length * P];
        for (int q = 0; q < cells.Length; q++)
        {
            var (pos, wq) = Sampling(capture, t, cells[q].Item1, cells[q].Item2);
            pos.CopyTo(positions, q * P * 2);
            wq.CopyTo(weights, q * P);
        }
        var offs = capture.Offsets!.ToArray();
        var wts = capture.Weights!.ToArray();
        return new SifaExplanation
        {
            Block = name, Frame = t, Frames = T, TemporalStride = model.TemporalStride, FeatureHeight = h, FeatureWidth = w, Size = size, K = k,
            Clip = Denormalize(clip, frames, size, normalization), Probabilities = probs, Predicted = predicted, Queries = cells,
            Positions = positions, Weights = weights, Saliency = saliency, GradCam = cam,
            Offsets = offs.AsSpan(t * 2 * P * hw, 2 * P * hw).ToArray(), AllWeights = wts.AsSpan(t * G * P * hw, G * P * hw).ToArray(),
        };
    }

    /// <summary>
    /// Where the query at feature cell (<paramref name="qy"/>, <paramref name="qx"/>) of frame row
    /// <paramref name="row"/> (n·T + t) sampled its next frame, read from the offsets the SIFA op was called with, by
    /// the op's own rule (SifaKernels.Cpu.cs, eq. 1): p_j = q + (grid_j - r)·d + o_j, j = a·k + b; and each
    /// neighbour's weight (mean over correlation groups).
    /// </summary>
    /// <returns>Positions (k², 2) as (row, column) in feature coordinates, and weights (k²).</returns>
    public static (float[] Positions, float[] Weights) Sampling(SifaCapture capture, int row, int qy, int qx)
    {
        var o = capture.Options;
        int k = o.K, P = k * k, G = o.Groups, h = capture.Offsets!.Shape[2], w = capture.Offsets.Shape[3], hw = h * w, r = (k - 1) / 2;
        if ((uint)qy >= (uint)h || (uint)qx >= (uint)w) throw new ArgumentException($"query cell {qy},{qx} is outside the {h}x{w} feature map");
        var offs = capture.Offsets.ToArray();
        var wts = capture.Weights!.ToArray();
        var positions = new float[P * 2];
        var weights = new float[P];
        int at = qy * w + qx;
        for (int j = 0; j < P; j++)
        {
            int a = j / k, b = j % k;
            positions[2 * j] = qy + (a - r) * o.Dilation + offs[(row * 2 * P + 2 * j) * hw + at];
            positions[2 * j + 1] = qx + (b - r) * o.Dilation + offs[(row * 2 * P + 2 * j + 1) * hw + at];
            for (int g = 0; g < G; g++) weights[j] += wts[((row * G + g) * P + j) * hw + at] / G;
        }
        return (positions, weights);
    }

    private static (int, int) ToCell((int Y, int X) q, int size, int h, int w)
    {
        if (q.Y < 0 || q.Y >= size || q.X < 0 || q.X >= size)
            throw new ArgumentException($"--query {q.Y},{q.X} is outside the {size}x{size} frame");
        return (q.Y * h / size, q.X * w / size);
    }

    private static float[] Softmax(float[] l)
    {
        float m = l.Max();
        var e = l.Select(v => MathF.Exp(v - m)).ToArray();
        float s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    private static float[] Denormalize(float[] clip, int frames, int size, InputNormalization n)
    {
        var o = new float[clip.Length];
        int plane = size * size;
        for (int f = 0; f < frames; f++)
            for (int ch = 0; ch < 3; ch++)
                for (int i = 0; i < plane; i++)
                {
                    int at = (f * 3 + ch) * plane + i;
                    o[at] = Math.Clamp(clip[at] * n.Std[ch] + n.Mean[ch], 0f, 1f);
                }
        return o;
    }
}
