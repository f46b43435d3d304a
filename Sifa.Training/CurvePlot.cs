using System.Globalization;
using System.Text;

namespace Sifa.Training;

/// <summary>
/// Hand-written SVG of training curves: loss (left panel) and accuracy (right panel) per epoch. Legends sit below the
/// panels (never over a curve), the margins leave room for the first and last tick labels, at most about ten epochs
/// are labelled (always the first and the last), and the epoch of the best validation top-1 is marked in both panels.
/// </summary>
public static class CurvePlot
{
    private const int PanelW = 400, PanelH = 260, Top = 40, Left0 = 60, Left1 = 540, W = 980, H = 390;

    /// <summary>Renders the curves.</summary>
    /// <param name="history">Per-epoch metrics.</param>
    /// <returns>An SVG document.</returns>
    public static string Svg(IReadOnlyList<EpochMetrics> history)
    {
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        int n = history.Count;
        double maxLoss = history.SelectMany(h => new[] { h.TrainLoss, h.ValLoss }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        if (maxLoss <= 0) maxLoss = 1;
        int best = BestEpoch(history);
        Panel(sb, Left0, "loss", 0, NiceTop(maxLoss), n, best,
            ("train_loss", "#1f77b4", history.Select(h => h.TrainLoss).ToArray()),
            ("val_loss", "#ff7f0e", history.Select(h => h.ValLoss).ToArray()));
        Panel(sb, Left1, "accuracy", 0, 1, n, best,
            ("train_top1", "#1f77b4", history.Select(h => h.TrainTop1).ToArray()),
            ("val_top1", "#ff7f0e", history.Select(h => h.ValTop1).ToArray()),
            ("val_top5", "#2ca02c", history.Select(h => h.ValTop5).ToArray()));
        if (best >= 0)
            sb.Append($"<text x=\"{W / 2}\" y=\"{H - 8}\" text-anchor=\"middle\" fill=\"#555\">best val_top1 {F3(history[best].ValTop1)} at epoch {history[best].Epoch} (dashed line)</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>The index of the epoch with the highest finite validation top-1 (the first such), or -1 when none.</summary>
    public static int BestEpoch(IReadOnlyList<EpochMetrics> history)
    {
        int best = -1;
        for (int i = 0; i < history.Count; i++)
            if (double.IsFinite(history[i].ValTop1) && (best < 0 || history[i].ValTop1 > history[best].ValTop1)) best = i;
        return best;
    }

    // The smallest 4 × step ≥ v·1.05 with a round step (1, 1.5, 2, 2.5, 5 or 7.5 × 10^k), so the four ticks read well.
    private static double NiceTop(double v)
    {
        double raw = v * 1.05 / 4, scale = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 1.5, 2, 2.5, 5, 7.5, 10 }.Select(m => m * scale).First(x => x >= raw);
        return 4 * step;
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string F3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static void Panel(StringBuilder sb, int x0, string title, double ymin, double ymax, int n, int best,
        params (string Name, string Color, double[] Values)[] series)
    {
        const int y0 = Top, w = PanelW, h = PanelH;
        sb.Append($"<text x=\"{x0 + w / 2}\" y=\"{y0 - 15}\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\n");
        sb.Append($"<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#444\"/>\n");
        for (int t = 0; t <= 4; t++)
        {
            double v = ymin + (ymax - ymin) * t / 4;
            double y = y0 + h - h * t / 4.0;
            sb.Append($"<line x1=\"{x0}\" y1=\"{F(y)}\" x2=\"{x0 + w}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>");
            sb.Append($"<text x=\"{x0 - 5}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{v.ToString("0.###", CultureInfo.InvariantCulture)}</text>\n");
        }
        // Points sit inside the frame (a small inset), so the first and last markers and tick labels are never clipped.
        const double inset = 10;
        double X(int i) => n <= 1 ? x0 + w / 2.0 : x0 + inset + (w - 2 * inset) * i / (n - 1);
        double Y(double v) => y0 + h - h * (Math.Clamp(v, ymin, ymax) - ymin) / (ymax - ymin);
        int every = Math.Max(1, (int)Math.Ceiling(n / 10.0));
        for (int i = 0; i < n; i++)
        {
            bool last = i == n - 1;
            if (i % every != 0 && !last) continue;
            if (!last && n - 1 - i < every / 2.0) continue; // too close to the last label
            sb.Append($"<line x1=\"{F(X(i))}\" y1=\"{y0 + h}\" x2=\"{F(X(i))}\" y2=\"{y0 + h + 4}\" stroke=\"#444\"/>");
            sb.Append($"<text x=\"{F(X(i))}\" y=\"{y0 + h + 17}\" text-anchor=\"middle\">{i + 1}</text>");
        }
        sb.Append($"<text x=\"{x0 + w / 2}\" y=\"{y0 + h + 34}\" text-anchor=\"middle\">epoch</text>\n");
        if (best >= 0)
            sb.Append($"<line x1=\"{F(X(best))}\" y1=\"{y0}\" x2=\"{F(X(best))}\" y2=\"{y0 + h}\" stroke=\"#888\" stroke-dasharray=\"5,4\"/>\n");
        int li = 0;
        foreach (var (name, color, values) in series)
        {
            var pts = Enumerable.Range(0, values.Length).Where(i => double.IsFinite(values[i])).Select(i => (X: F(X(i)), Y: F(Y(values[i])))).ToList();
            if (pts.Count > 0)
            {
                sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', pts.Select(p => $"{p.X},{p.Y}"))}\"/>\n");
                if (pts.Count <= 60)
                    foreach (var p in pts) sb.Append($"<circle cx=\"{p.X}\" cy=\"{p.Y}\" r=\"3\" fill=\"{color}\"/>");
                sb.Append('\n');
            }
            // The legend: one row below the panel, outside the plotting area.
            int lx = x0 + li * (w / series.Length), ly = y0 + h + 48;
            sb.Append($"<rect x=\"{lx}\" y=\"{ly - 9}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{lx + 15}\" y=\"{ly}\">{name}</text>\n");
            li++;
        }
    }
}
