using System.Globalization;
using System.Text;

namespace Sifa.Training;

/// <summary>Hand-written SVG of training curves: loss (left panel) and accuracy (right panel) per epoch.</summary>
public static class CurvePlot
{
    /// <summary>Renders the curves.</summary>
    /// <param name="history">Per-epoch metrics.</param>
    /// <returns>An SVG document.</returns>
    public static string Svg(IReadOnlyList<EpochMetrics> history)
    {
        const int W = 900, H = 360, panelW = 400, panelH = 280, top = 40, left0 = 50, left1 = 500;
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n");
        int n = history.Count;
        double maxLoss = history.SelectMany(h => new[] { h.TrainLoss, h.ValLoss }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        if (maxLoss <= 0) maxLoss = 1;
        Panel(sb, left0, top, panelW, panelH, "loss", 0, maxLoss, n,
            ("train_loss", "#1f77b4", history.Select(h => h.TrainLoss).ToArray()),
            ("val_loss", "#ff7f0e", history.Select(h => h.ValLoss).ToArray()));
        Panel(sb, left1, top, panelW, panelH, "accuracy", 0, 1, n,
            ("train_top1", "#1f77b4", history.Select(h => h.TrainTop1).ToArray()),
            ("val_top1", "#ff7f0e", history.Select(h => h.ValTop1).ToArray()),
            ("val_top5", "#2ca02c", history.Select(h => h.ValTop5).ToArray()));
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static void Panel(StringBuilder sb, int x0, int y0, int w, int h, string title, double ymin, double ymax, int n,
        params (string Name, string Color, double[] Values)[] series)
    {
        sb.Append($"<text x=\"{x0 + w / 2}\" y=\"{y0 - 15}\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\n");
        sb.Append($"<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#444\"/>\n");
        for (int t = 0; t <= 4; t++)
        {
            double v = ymin + (ymax - ymin) * t / 4;
            double y = y0 + h - h * t / 4.0;
            sb.Append($"<line x1=\"{x0}\" y1=\"{F(y)}\" x2=\"{x0 + w}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>");
            sb.Append($"<text x=\"{x0 - 5}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{v.ToString("0.###", CultureInfo.InvariantCulture)}</text>\n");
        }
        double X(int i) => n <= 1 ? x0 + w / 2.0 : x0 + w * i / (double)(n - 1);
        double Y(double v) => y0 + h - h * (Math.Clamp(v, ymin, ymax) - ymin) / (ymax - ymin);
        for (int i = 0; i < n; i++)
            sb.Append($"<text x=\"{F(X(i))}\" y=\"{y0 + h + 15}\" text-anchor=\"middle\">{i + 1}</text>");
        sb.Append($"<text x=\"{x0 + w / 2}\" y=\"{y0 + h + 30}\" text-anchor=\"middle\">epoch</text>\n");
        int li = 0;
        foreach (var (name, color, values) in series)
        {
            var pts = Enumerable.Range(0, values.Length).Where(i => double.IsFinite(values[i])).Select(i => $"{F(X(i))},{F(Y(values[i]))}").ToList();
            if (pts.Count > 0)
            {
                sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', pts)}\"/>\n");
                foreach (var p in pts) { var xy = p.Split(','); sb.Append($"<circle cx=\"{xy[0]}\" cy=\"{xy[1]}\" r=\"3\" fill=\"{color}\"/>"); }
                sb.Append('\n');
            }
            sb.Append($"<rect x=\"{x0 + 10}\" y=\"{y0 + 10 + 16 * li}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{x0 + 25}\" y=\"{y0 + 19 + 16 * li}\">{name}</text>\n");
            li++;
        }
    }
}
