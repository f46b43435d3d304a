using System.Text.Json;
using Sifa.Models;
using Sifa.Tensors.IO;

namespace Sifa.Tests.SifaOp;

/// <summary>
/// Tests of the fused SIFA kernels and of the deformable gather kernels against a naive double-precision
/// reference that materialises the keys K (NT, C, k², H, W), against central finite differences, and against
/// the PyTorch golden files.
/// </summary>
public class SifaKernelTests
{
    // ============================================================================================ naive reference

    /// <summary>One in-frame bilinear tap: pixel (Y, X), weight, and the weight's derivatives w.r.t. py and px (⌊·⌋ fixed).</summary>
    private readonly record struct Tap(int Y, int X, double Wt, double DWy, double DWx);

    /// <summary>The in-frame taps of position (py, px), as in bilinear_zero of sifa_ref.py.</summary>
    private static List<Tap> Taps(double py, double px, int h, int w)
    {
        var list = new List<Tap>(4);
        if (double.IsNaN(py) || double.IsNaN(px) || Math.Abs(py) > 1e6 || Math.Abs(px) > 1e6) return list;
        double y0 = Math.Floor(py), x0 = Math.Floor(px), ly = py - y0, lx = px - x0;
        foreach (var (dy, dx) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
        {
            int yy = (int)y0 + dy, xx = (int)x0 + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            double wy = dy == 0 ? 1 - ly : ly, wx = dx == 0 ? 1 - lx : lx;
            double dwy = dy == 0 ? -1 : 1, dwx = dx == 0 ? -1 : 1;
            list.Add(new Tap(yy, xx, wy * wx, dwy * wx, wy * dwx));
        }
        return list;
    }

    private static (double py, double px) Position(SifaShape s, double[] o, int f, int j, int y, int x)
    {
        int P = s.P, HW = s.HW, r = (s.K - 1) / 2, p = y * s.W + x;
        double py = y + (j / s.K - r) * s.Dilation + o[((long)f * 2 * P + 2 * j) * HW + p];
        double px = x + (j % s.K - r) * s.Dilation + o[((long)f * 2 * P + 2 * j + 1) * HW + p];
        return (py, px);
    }

    /// <summary>Naive SIFA forward in double: returns y, and the materialised K (NT,C,P,H,W) and W (NT,G,P,H,W).</summary>
    private static (double[] Y, double[] K, double[] Wt) NaiveForward(double[] x, double[] o, SifaShape s)
    {
        int NT = s.NT, C = s.C, H = s.H, W = s.W, HW = s.HW, P = s.P, G = s.Groups, Cg = s.GroupChannels;
        var K = new double[(long)NT * C * P * HW];
        var Wt = new double[(long)NT * G * P * HW];
        var Y = (double[])x.Clone();
        for (int f = 0; f < NT; f++)
        {
            int fn = s.Next(f);
            for (int j = 0; j < P; j++)
                for (int y = 0; y < H; y++)
                    for (int xx = 0; xx < W; xx++)
                    {
                        var (py, px) = Position(s, o, f, j, y, xx);
                        foreach (var t in Taps(py, px, H, W))
                            for (int c = 0; c < C; c++)
                                K[(((long)f * C + c) * P + j) * HW + y * W + xx] += t.Wt * x[((long)fn * C + c) * HW + t.Y * W + t.X];
                    }
            for (int p = 0; p < HW; p++)
                for (int g = 0; g < G; g++)
                {
                    var sc = new double[P];
                    for (int j = 0; j < P; j++)
                    {
                        double sum = 0;
                        for (int c = g * Cg; c < (g + 1) * Cg; c++) sum += x[((long)f * C + c) * HW + p] * K[(((long)f * C + c) * P + j) * HW + p];
                        sc[j] = sum / Cg;
                    }
                    if (s.Softmax)
                    {
                        double m = sc.Max(), z = 0;
                        for (int j = 0; j < P; j++) { sc[j] = Math.Exp(sc[j] - m); z += sc[j]; }
                        for (int j = 0; j < P; j++) sc[j] /= z;
                    }
                    for (int j = 0; j < P; j++) Wt[(((long)f * G + g) * P + j) * HW + p] = sc[j];
                    if (!s.Attends(f)) continue;
                    for (int c = g * Cg; c < (g + 1) * Cg; c++)
                        for (int j = 0; j < P; j++)
                            Y[((long)f * C + c) * HW + p] += sc[j] * K[(((long)f * C + c) * P + j) * HW + p];
                }
        }
        return (Y, K, Wt);
    }

    /// <summary>Naive SIFA backward in double from the materialised K.</summary>
    private static (double[] Dx, double[] DOff) NaiveBackward(double[] dy, double[] x, double[] o, SifaShape s)
    {
        var (_, K, Wt) = NaiveForward(x, o, s);
        int NT = s.NT, C = s.C, H = s.H, W = s.W, HW = s.HW, P = s.P, G = s.Groups, Cg = s.GroupChannels;
        var dx = (double[])dy.Clone();
        var dOff = new double[o.Length];
        var dK = new double[K.Length];
        for (int f = 0; f < NT; f++)
        {
            if (!s.Attends(f)) continue;
            for (int p = 0; p < HW; p++)
                for (int g = 0; g < G; g++)
                {
                    var dW = new double[P];
                    for (int j = 0; j < P; j++)
                        for (int c = g * Cg; c < (g + 1) * Cg; c++)
                            dW[j] += dy[((long)f * C + c) * HW + p] * K[(((long)f * C + c) * P + j) * HW + p];
                    var dS = new double[P];
                    double dot = 0;
                    for (int j = 0; j < P; j++) dot += Wt[(((long)f * G + g) * P + j) * HW + p] * dW[j];
                    for (int j = 0; j < P; j++)
                    {
                        double wj = Wt[(((long)f * G + g) * P + j) * HW + p];
                        dS[j] = s.Softmax ? wj * (dW[j] - dot) : dW[j];
                    }
                    for (int c = g * Cg; c < (g + 1) * Cg; c++)
                        for (int j = 0; j < P; j++)
                        {
                            long ki = (((long)f * C + c) * P + j) * HW + p;
                            dx[((long)f * C + c) * HW + p] += dS[j] / Cg * K[ki];
                            dK[ki] = Wt[(((long)f * G + g) * P + j) * HW + p] * dy[((long)f * C + c) * HW + p] + dS[j] / Cg * x[((long)f * C + c) * HW + p];
                        }
                }
            int fn = s.Next(f);
            for (int j = 0; j < P; j++)
                for (int y = 0; y < H; y++)
                    for (int xx = 0; xx < W; xx++)
                    {
                        int p = y * W + xx;
                        var (py, px) = Position(s, o, f, j, y, xx);
                        foreach (var t in Taps(py, px, H, W))
                            for (int c = 0; c < C; c++)
                            {
                                double g = dK[(((long)f * C + c) * P + j) * HW + p];
                                double v = x[((long)fn * C + c) * HW + t.Y * W + t.X];
                                dx[((long)fn * C + c) * HW + t.Y * W + t.X] += t.Wt * g;
                                dOff[((long)f * 2 * P + 2 * j) * HW + p] += t.DWy * v * g;
                                dOff[((long)f * 2 * P + 2 * j + 1) * HW + p] += t.DWx * v * g;
                            }
                    }
        }
        return (dx, dOff);
    }

    private static double Loss(double[] y, double[] dy)
    {
        double l = 0;
        for (int i = 0; i < y.Length; i++) l += y[i] * dy[i];
        return l;
    }

    // ============================================================================================ helpers

    private static float[] RandomArray(Random rng, long n, double scale = 1)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    /// <summary>Random offsets in [-range, range]; about 8 % far outside the frame; fractional parts kept at least
    /// <paramref name="margin"/> away from integers (so finite differences never straddle a cell boundary).</summary>
    private static float[] RandomOffsets(Random rng, long n, double range, double margin, int far)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++)
        {
            double v;
            double u = rng.NextDouble();
            if (u < 0.08) v = (rng.Next(2) == 0 ? -1 : 1) * (far + 3 + 10 * rng.NextDouble());
            else if (u < 0.2) v = Math.Round((rng.NextDouble() * 2 - 1) * range) + (rng.Next(2) == 0 ? -1 : 1) * (0.002 + 0.01 * rng.NextDouble());
            else v = (rng.NextDouble() * 2 - 1) * range;
            double fr = v - Math.Floor(v);
            if (fr < margin) v += margin;
            else if (fr > 1 - margin) v -= margin;
            a[i] = (float)v;
            fr = a[i] - Math.Floor((double)a[i]);
            if (fr < margin * 0.5 || fr > 1 - margin * 0.5) a[i] = (float)(Math.Floor((double)a[i]) + 0.5);
        }
        return a;
    }

    private static double[] D(float[] a) => a.Select(v => (double)v).ToArray();

    /// <summary>|a - b| ≤ atol·max(1, max|b|) + rtol·|b| elementwise.</summary>
    private static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string what, double atol = 1e-4, double rtol = 1e-3)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 1;
        foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], b = expected[i];
            if (!(Math.Abs(a - b) <= atol * scale + rtol * Math.Abs(b)))
                Assert.Fail($"{what}[{i}]: got {a}, expected {b} (|diff| {Math.Abs(a - b):g3}, scale {scale:g3})");
        }
    }

    private static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, string what)
    {
        // The golden tolerance of SPEC section 7 for single ops.
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i], b = expected[i];
            if (!(Math.Abs(a - b) <= 1e-4 + 1e-3 * Math.Abs(b)))
                Assert.Fail($"{what}[{i}]: got {a}, expected {b} (|diff| {Math.Abs(a - b):g3})");
        }
    }

    private static (float[] Y, float[] Wt) Fwd(float[] x, float[] o, SifaShape s)
    {
        var y = new float[s.XLength];
        var w = new float[s.WeightsLength];
        SifaKernels.Forward(x, o, y, w, s);
        return (y, w);
    }

    private static (float[] Dx, float[] DOff) Bwd(float[] dy, float[] x, float[] o, float[] w, SifaShape s)
    {
        var dx = new float[s.XLength];
        var dOff = new float[s.OffsetsLength];
        // Pre-fill with garbage: the kernel must overwrite.
        Array.Fill(dx, float.NaN);
        Array.Fill(dOff, float.NaN);
        SifaKernels.Backward(dy, x, o, w, dx, dOff, s);
        return (dx, dOff);
    }

    // ============================================================================================ (1) naive parity

    /// <summary>Every combination of k, dilation, groups, last_frame, normalize and T.</summary>
    public static IEnumerable<object[]> Configs()
    {
        int i = 0;
        foreach (int k in new[] { 1, 3, 5 })
            foreach (int d in new[] { 1, 2 })
                foreach (int g in new[] { 1, 2, 4 })
                    foreach (bool none in new[] { false, true })
                        foreach (bool soft in new[] { false, true })
                            foreach (int t in new[] { 1, 2, 4 })
                                yield return new object[] { k, d, g, none, soft, t, i++ };
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Sifa_ForwardBackward_MatchNaive(int k, int dilation, int groups, bool lastNone, bool softmax, int T, int seed)
    {
        int[] cs = { 4, 12, 20, 24, 40 };
        int C = cs[seed % cs.Length];
        int H = new[] { 5, 7, 3 }[seed % 3], W = new[] { 7, 5, 9, 1 }[seed % 4];
        int N = T == 4 ? 1 : 2;
        var s = new SifaShape(N * T, T, C, H, W, k, dilation, groups, lastNone, softmax);
        var rng = new Random(1000 + seed);
        var x = RandomArray(rng, s.XLength);
        var o = RandomOffsets(rng, s.OffsetsLength, 2.5, 0, Math.Max(H, W));
        var dy = RandomArray(rng, s.XLength);
        CheckAgainstNaive(s, x, o, dy);
    }

    private static void CheckAgainstNaive(SifaShape s, float[] x, float[] o, float[] dy)
    {
        var (y, w) = Fwd(x, o, s);
        var (ny, _, nw) = NaiveForward(D(x), D(o), s);
        AssertClose(y, ny, "y");
        // Saved weights: equal to the naive ones on frames with A (zero elsewhere).
        var nwMasked = (double[])nw.Clone();
        long per = (long)s.Groups * s.P * s.HW;
        for (int f = 0; f < s.NT; f++) if (!s.Attends(f)) Array.Clear(nwMasked, (int)(f * per), (int)per);
        AssertClose(w, nwMasked, "savedWeights");
        var (dx, dOff) = Bwd(dy, x, o, w, s);
        var (ndx, ndOff) = NaiveBackward(D(dy), D(x), D(o), s);
        AssertClose(dx, ndx, "dx");
        AssertClose(dOff, ndOff, "dOffsets");
    }

    /// <summary>Sizes large enough to take the parallel paths (row chunks per frame with few frames, many frames).</summary>
    [Theory]
    [InlineData(1, 1, 64, 15, 13, 3, 1, 1, false, false)]
    [InlineData(3, 3, 48, 12, 11, 3, 1, 2, false, true)]
    [InlineData(8, 4, 32, 9, 10, 3, 2, 4, true, false)]
    [InlineData(2, 2, 40, 14, 9, 5, 1, 2, true, true)]
    public void Sifa_ParallelSizes_MatchNaive(int nt, int t, int c, int h, int w, int k, int d, int g, bool none, bool soft)
    {
        var s = new SifaShape(nt, t, c, h, w, k, d, g, none, soft);
        var rng = new Random(nt * 131 + c);
        CheckAgainstNaive(s, RandomArray(rng, s.XLength), RandomOffsets(rng, s.OffsetsLength, 3, 0, Math.Max(h, w)), RandomArray(rng, s.XLength));
    }

    [Fact]
    public void Sifa_ZeroFrames_AndSizeChecks()
    {
        var s = new SifaShape(0, 2, 4, 3, 3, 3, 1, 1, false, false);
        SifaKernels.Forward([], [], [], [], s);
        var bad = new SifaShape(2, 2, 6, 3, 3, 3, 1, 4, false, false);
        Assert.Throws<ArgumentException>(() => SifaKernels.Forward(new float[bad.XLength], new float[bad.OffsetsLength], new float[bad.XLength], new float[bad.WeightsLength], bad));
        var ok = new SifaShape(2, 2, 4, 3, 3, 3, 1, 1, false, false);
        Assert.Throws<ArgumentException>(() => SifaKernels.Forward(new float[ok.XLength - 1], new float[ok.OffsetsLength], new float[ok.XLength], new float[ok.WeightsLength], ok));
    }

    // ============================================================================================ (2) finite differences

    public static IEnumerable<object[]> FdConfigs() => new[]
    {
        new object[] { 3, 1, 1, false, false, 2 },
        new object[] { 3, 1, 2, false, true, 3 },
        new object[] { 3, 2, 2, true, true, 2 },
        new object[] { 5, 1, 1, true, false, 3 },
        new object[] { 1, 1, 1, false, true, 1 },
        new object[] { 3, 1, 4, false, true, 1 },
    };

    [Theory]
    [MemberData(nameof(FdConfigs))]
    public void Sifa_Gradients_MatchCentralDifferences(int k, int d, int g, bool none, bool soft, int T)
    {
        var s = new SifaShape(T == 1 ? 2 : T, T, 3 * g, 5, 4, k, d, g, none, soft);
        var rng = new Random(7 + k * 10 + g + T);
        var x = RandomArray(rng, s.XLength);
        var o = RandomOffsets(rng, s.OffsetsLength, 2.5, 2e-3, 5);
        var dy = RandomArray(rng, s.XLength);
        var (_, w) = Fwd(x, o, s);
        var (dx, dOff) = Bwd(dy, x, o, w, s);
        double[] xd = D(x), od = D(o), dyd = D(dy);
        var (ndx, ndOff) = NaiveBackward(dyd, xd, od, s);
        const double h = 1e-6;
        var fdx = new double[xd.Length];
        for (int i = 0; i < xd.Length; i++)
        {
            double v = xd[i];
            xd[i] = v + h; double lp = Loss(NaiveForward(xd, od, s).Y, dyd);
            xd[i] = v - h; double lm = Loss(NaiveForward(xd, od, s).Y, dyd);
            xd[i] = v;
            fdx[i] = (lp - lm) / (2 * h);
        }
        var fdo = new double[od.Length];
        for (int i = 0; i < od.Length; i++)
        {
            double v = od[i];
            od[i] = v + h; double lp = Loss(NaiveForward(xd, od, s).Y, dyd);
            od[i] = v - h; double lm = Loss(NaiveForward(xd, od, s).Y, dyd);
            od[i] = v;
            fdo[i] = (lp - lm) / (2 * h);
        }
        // The naive analytic gradient agrees with the differences to double precision, the fused kernel to float precision.
        AssertClose(ndx.Select(v => (float)v).ToArray(), fdx, "naive dx vs FD", 1e-5, 1e-5);
        AssertClose(ndOff.Select(v => (float)v).ToArray(), fdo, "naive dOff vs FD", 1e-5, 1e-5);
        AssertClose(dx, fdx, "dx vs FD");
        AssertClose(dOff, fdo, "dOffsets vs FD");
    }

    /// <summary>At integral sampling positions the offset gradient is the forward difference (⌊·⌋ held fixed):
    /// it equals the one-sided difference (L(o + h) - L(o)) / h.</summary>
    [Theory]
    [InlineData(3, 1, 1, false, false)]
    [InlineData(3, 2, 2, false, true)]
    [InlineData(5, 1, 1, true, true)]
    public void Sifa_IntegerPositions_GradientIsForwardDifference(int k, int d, int g, bool none, bool soft)
    {
        var s = new SifaShape(4, 2, 2 * g, 5, 6, k, d, g, none, soft);
        var rng = new Random(99 + k + d + g);
        var x = RandomArray(rng, s.XLength);
        var o = new float[s.OffsetsLength];
        for (int i = 0; i < o.Length; i++) o[i] = rng.Next(-3, 4);   // integral, many on or just beyond the border
        var dy = RandomArray(rng, s.XLength);
        var (_, w) = Fwd(x, o, s);
        var (_, dOff) = Bwd(dy, x, o, w, s);
        double[] xd = D(x), od = D(o), dyd = D(dy);
        var (_, ndOff) = NaiveBackward(dyd, xd, od, s);
        double l0 = Loss(NaiveForward(xd, od, s).Y, dyd);
        const double h = 1e-7;
        var fwd = new double[od.Length];
        for (int i = 0; i < od.Length; i++)
        {
            double v = od[i];
            od[i] = v + h;
            fwd[i] = (Loss(NaiveForward(xd, od, s).Y, dyd) - l0) / h;
            od[i] = v;
        }
        AssertClose(ndOff.Select(v => (float)v).ToArray(), fwd, "naive dOff vs forward difference", 1e-5, 1e-4);
        AssertClose(dOff, fwd, "dOffsets vs forward difference");
        Assert.Contains(dOff, v => v != 0);
    }

    // ============================================================================================ (3) golden parity

    /// <summary>The golden folder: $SIFA_GOLDEN_DIR, else ../shared/golden next to the repository root (the folder
    /// holding Sifa.sln, found by walking up from the test binaries), else /work/shared/golden.</summary>
    internal static string GoldenDir()
    {
        var env = Environment.GetEnvironmentVariable("SIFA_GOLDEN_DIR");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Sifa.sln"))) continue;
            var cand = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "golden"));
            if (Directory.Exists(cand)) return cand;
            cand = Path.Combine(dir.FullName, "shared", "golden");
            if (Directory.Exists(cand)) return cand;
            break;
        }
        if (Directory.Exists("/work/shared/golden")) return "/work/shared/golden";
        throw new DirectoryNotFoundException("golden folder not found: set SIFA_GOLDEN_DIR");
    }

    [Theory]
    [InlineData("sifa_op_k3")]
    [InlineData("sifa_op_k3_lastnone_softmax")]
    [InlineData("sifa_op_zero_offsets")]
    public void Sifa_MatchesGolden(string name)
    {
        var content = SafeTensors.Read(Path.Combine(GoldenDir(), name + ".safetensors"));
        using var cfg = JsonDocument.Parse(content.Metadata["config"]);
        var r = cfg.RootElement;
        var xt = content.Tensors["in.x"].Tensor;
        int nt = xt.Shape[0], c = xt.Shape[1], h = xt.Shape[2], w = xt.Shape[3];
        var s = new SifaShape(nt, r.GetProperty("frames").GetInt32(), c, h, w, r.GetProperty("k").GetInt32(),
            r.GetProperty("dilation").GetInt32(), r.GetProperty("groups").GetInt32(),
            r.GetProperty("last_frame").GetString() == "none", r.GetProperty("normalize").GetString() == "softmax");
        float[] T(string key) => content.Tensors[key].Tensor.ToArray();
        var x = T("in.x");
        var o = T("in.offsets");
        var (y, wt) = Fwd(x, o, s);
        AssertClose(y, T("out.y"), name + " out.y");
        var (dx, dOff) = Bwd(T("dy.y"), x, o, wt, s);
        AssertClose(dx, T("grad.in.x"), name + " grad.in.x");
        AssertClose(dOff, T("grad.in.offsets"), name + " grad.in.offsets");
    }

    // ============================================================================================ (4) deformable gather

    private static double[] NaiveGather(double[] img, double[] o, int B, int C, int H, int W, int k, int d)
    {
        int P = k * k, HW = H * W, r = (k - 1) / 2;
        var outp = new double[(long)B * C * P * HW];
        for (int b = 0; b < B; b++)
            for (int j = 0; j < P; j++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                    {
                        int p = y * W + x;
                        double py = y + (j / k - r) * d + o[((long)b * 2 * P + 2 * j) * HW + p];
                        double px = x + (j % k - r) * d + o[((long)b * 2 * P + 2 * j + 1) * HW + p];
                        foreach (var t in Taps(py, px, H, W))
                            for (int c = 0; c < C; c++)
                                outp[(((long)b * C + c) * P + j) * HW + p] += t.Wt * img[((long)b * C + c) * HW + t.Y * W + t.X];
                    }
        return outp;
    }

    private static (double[] DImg, double[] DOff) NaiveGatherBackward(double[] dout, double[] img, double[] o, int B, int C, int H, int W, int k, int d)
    {
        int P = k * k, HW = H * W, r = (k - 1) / 2;
        var dImg = new double[img.Length];
        var dOff = new double[o.Length];
        for (int b = 0; b < B; b++)
            for (int j = 0; j < P; j++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                    {
                        int p = y * W + x;
                        double py = y + (j / k - r) * d + o[((long)b * 2 * P + 2 * j) * HW + p];
                        double px = x + (j % k - r) * d + o[((long)b * 2 * P + 2 * j + 1) * HW + p];
                        foreach (var t in Taps(py, px, H, W))
                            for (int c = 0; c < C; c++)
                            {
                                double g = dout[(((long)b * C + c) * P + j) * HW + p];
                                double v = img[((long)b * C + c) * HW + t.Y * W + t.X];
                                dImg[((long)b * C + c) * HW + t.Y * W + t.X] += t.Wt * g;
                                dOff[((long)b * 2 * P + 2 * j) * HW + p] += t.DWy * v * g;
                                dOff[((long)b * 2 * P + 2 * j + 1) * HW + p] += t.DWx * v * g;
                            }
                    }
        return (dImg, dOff);
    }

    [Theory]
    [InlineData(1, 1, 5, 7, 1, 1)]
    [InlineData(2, 5, 5, 7, 3, 1)]
    [InlineData(3, 3, 7, 5, 3, 2)]
    [InlineData(1, 16, 9, 3, 5, 1)]
    [InlineData(2, 4, 5, 5, 5, 2)]
    [InlineData(1, 64, 17, 15, 3, 1)]   // parallel over channel chunks
    [InlineData(6, 24, 11, 13, 3, 1)]   // parallel over images
    public void DeformGather_MatchesNaive(int B, int C, int H, int W, int k, int d)
    {
        var rng = new Random(B * 1000 + C * 10 + k);
        int P = k * k;
        var img = RandomArray(rng, (long)B * C * H * W);
        var o = RandomOffsets(rng, (long)B * 2 * P * H * W, 2.5, 0, Math.Max(H, W));
        var dout = RandomArray(rng, (long)B * C * P * H * W);
        var outp = new float[dout.Length];
        DeformGatherKernels.Forward(img, o, outp, B, C, H, W, k, d);
        AssertClose(outp, NaiveGather(D(img), D(o), B, C, H, W, k, d), "gather out");
        var dImg = new float[img.Length];
        var dOff = new float[o.Length];
        Array.Fill(dImg, float.NaN);
        Array.Fill(dOff, float.NaN);
        DeformGatherKernels.Backward(dout, img, o, dImg, dOff, B, C, H, W, k, d);
        var (ndi, ndo) = NaiveGatherBackward(D(dout), D(img), D(o), B, C, H, W, k, d);
        AssertClose(dImg, ndi, "gather dImg");
        AssertClose(dOff, ndo, "gather dOffsets");
    }

    [Theory]
    [InlineData(2, 3, 5, 4, 3, 1, false)]
    [InlineData(1, 2, 4, 5, 5, 2, false)]
    [InlineData(2, 3, 5, 4, 3, 1, true)]
    public void DeformGather_Gradients_MatchDifferences(int B, int C, int H, int W, int k, int d, bool integral)
    {
        var rng = new Random(B + C + H + W + k + (integral ? 50 : 0));
        int P = k * k;
        var img = RandomArray(rng, (long)B * C * H * W);
        var o = integral ? Enumerable.Range(0, B * 2 * P * H * W).Select(_ => (float)rng.Next(-3, 4)).ToArray()
                         : RandomOffsets(rng, (long)B * 2 * P * H * W, 2.5, 2e-3, 5);
        var dout = RandomArray(rng, (long)B * C * P * H * W);
        var dImg = new float[img.Length];
        var dOff = new float[o.Length];
        DeformGatherKernels.Backward(dout, img, o, dImg, dOff, B, C, H, W, k, d);
        double[] id = D(img), od = D(o), dd = D(dout);
        double L() => Loss(NaiveGather(id, od, B, C, H, W, k, d), dd);
        double h = integral ? 1e-7 : 1e-6;
        double l0 = L();
        var fdi = new double[id.Length];
        for (int i = 0; i < id.Length; i++)
        {
            double v = id[i];
            id[i] = v + h; double lp = L();
            id[i] = v - h; double lm = L();
            id[i] = v;
            fdi[i] = (lp - lm) / (2 * h);
        }
        var fdo = new double[od.Length];
        for (int i = 0; i < od.Length; i++)
        {
            double v = od[i];
            od[i] = v + h; double lp = L();
            od[i] = v - h; double lm = integral ? l0 : L();
            od[i] = v;
            // Integral positions: the one-sided forward difference (⌊·⌋ held fixed).
            fdo[i] = integral ? (lp - l0) / h : (lp - lm) / (2 * h);
        }
        AssertClose(dImg, fdi, "gather dImg vs FD");
        AssertClose(dOff, fdo, "gather dOffsets vs FD");
    }
}
