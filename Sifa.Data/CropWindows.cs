namespace Sifa.Data;

/// <summary>A crop window in a (resized) frame: top-left corner and size.</summary>
/// <param name="Y">Top row.</param>
/// <param name="X">Left column.</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public readonly record struct CropWindow(int Y, int X, int Height, int Width);

/// <summary>The random crop windows of the training augmentations, drawn from a sample's random source.</summary>
public static class CropWindows
{
    /// <summary>
    /// torchvision's <c>RandomResizedCrop.get_params</c>: up to 10 tries of an area uniform in
    /// [<paramref name="scaleMin"/>, <paramref name="scaleMax"/>] of the frame and a log-uniform aspect ratio (width/height)
    /// in [<paramref name="ratioMin"/>, <paramref name="ratioMax"/>], at a uniform position; then the centred crop of the
    /// whole frame with the ratio clamped.
    /// </summary>
    public static CropWindow RandomResized(int height, int width, double scaleMin, double scaleMax, double ratioMin, double ratioMax, Random rng)
    {
        double area = (double)height * width, logMin = Math.Log(ratioMin), logMax = Math.Log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (scaleMin + (scaleMax - scaleMin) * rng.NextDouble());
            double ratio = Math.Exp(logMin + (logMax - logMin) * rng.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(target * ratio)), h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && w <= width && h > 0 && h <= height)
                return new CropWindow(rng.Next(height - h + 1), rng.Next(width - w + 1), h, w);
        }
        double inRatio = (double)width / height;
        int cw = width, ch = height;
        if (inRatio < ratioMin) ch = (int)Math.Round(cw / ratioMin);
        else if (inRatio > ratioMax) cw = (int)Math.Round(ch * ratioMax);
        return new CropWindow((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <summary>
    /// mmaction2's <c>MultiScaleCrop</c> (fixed crops): side candidates <c>⌊short·scale⌋</c> (snapped to
    /// <paramref name="cropSize"/> within 3 pixels), a (width, height) pair at most one scale step apart, at one of five
    /// positions: the four corners and the centre.
    /// </summary>
    public static CropWindow MultiScale(int height, int width, int cropSize, IReadOnlyList<double> scales, Random rng)
    {
        int b = Math.Min(height, width);
        var sides = scales.Select(s => { int v = (int)(b * s); return Math.Abs(v - cropSize) < 3 ? cropSize : Math.Max(1, v); }).ToArray();
        var pairs = new List<(int W, int H)>();
        for (int i = 0; i < sides.Length; i++)
            for (int j = 0; j < sides.Length; j++)
                if (Math.Abs(i - j) <= 1) pairs.Add((Math.Min(sides[j], width), Math.Min(sides[i], height)));
        var (cw, ch) = pairs[rng.Next(pairs.Count)];
        int ws = (width - cw) / 4, hs = (height - ch) / 4;
        var offsets = new[] { (0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs) };
        var (x, y) = offsets[rng.Next(offsets.Length)];
        return new CropWindow(y, x, ch, cw);
    }
}
