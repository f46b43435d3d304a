using System.Diagnostics;
using Sifa.Data;
using Xunit.Abstractions;

namespace Sifa.Tests.Data;

public class SyntheticMotionTests
{
    private readonly ITestOutputHelper _out;

    public SyntheticMotionTests(ITestOutputHelper output) => _out = output;

    private static SyntheticMotionOptions Raw(int frames = 8, int size = 64, int seed = 0) =>
        new() { Frames = frames, Size = size, Seed = seed, Normalize = false, TrainCount = 256, ValidationCount = 64 };

    [Fact]
    public void SamplesAreDeterministicFromSeedSplitAndIndex()
    {
        var a = new SyntheticMotionDataset(Raw());
        var b = new SyntheticMotionDataset(Raw());
        for (int i = 0; i < 16; i++)
        {
            var sa = a.Load(i, new Random(1));
            var sb = b.Load(i, new Random(999));   // the random source does not matter
            Assert.Equal(sa.Data, sb.Data);
            Assert.Equal(i % 8, sa.Label);
            Assert.Equal(new[] { 8, 3, 64, 64 }, sa.ClipShape);
        }
        Assert.NotEqual(a.Load(3, new Random(0)).Data, new SyntheticMotionDataset(Raw(seed: 1)).Load(3, new Random(0)).Data);
        Assert.NotEqual(a.Load(3, new Random(0)).Data, new SyntheticMotionDataset(Raw(), DatasetSplit.Validation).Load(3, new Random(0)).Data);
        Assert.Equal(8, a.ClassNames.Count);
        Assert.Equal(256, a.Count);
        Assert.Equal(64, new SyntheticMotionDataset(Raw(), DatasetSplit.Validation).Count);
    }

    [Fact]
    public void PairedClassesAreExactlyTimeReversed()
    {
        const int T = 8, S = 48;
        int frame = 3 * S * S;
        for (ulong seed = 1; seed <= 20; seed++)
            for (int pair = 0; pair < 4; pair++)
            {
                var fwd = SyntheticMotionDataset.Render(2 * pair, seed, T, S, normalize: false);
                var bwd = SyntheticMotionDataset.Render(2 * pair + 1, seed, T, S, normalize: false);
                for (int t = 0; t < T; t++)
                    Assert.True(fwd.AsSpan(t * frame, frame).SequenceEqual(bwd.AsSpan((T - 1 - t) * frame, frame)), $"pair {pair} seed {seed} frame {t}");
                Assert.NotEqual(fwd, bwd);
                Assert.Equal(2 * pair + 1, SyntheticMotionDataset.ReversedClass(2 * pair));
            }
    }

    [Fact]
    public void ValuesAreImagesAndNormalisationIsImageNet()
    {
        var raw = SyntheticMotionDataset.Render(4, 77, 8, 32, normalize: false);
        Assert.All(raw, v => Assert.InRange(v, 0f, 1f));
        var norm = SyntheticMotionDataset.Render(4, 77, 8, 32, normalize: true);
        int plane = 32 * 32;
        for (int i = 0; i < raw.Length; i += 97)
        {
            int c = i / plane % 3;
            float mean = new[] { 0.485f, 0.456f, 0.406f }[c], std = new[] { 0.229f, 0.224f, 0.225f }[c];
            Assert.Equal((raw[i] - mean) / std, norm[i], 4);
        }
        // the picture is not flat: clutter and texture give spread
        float mu = raw.Average();
        Assert.True(raw.Select(v => (v - mu) * (v - mu)).Average() > 0.01);
    }

    /// <summary>Per clip: slopes over time of the x and y centroids and of the size of the frame-difference region.</summary>
    private static (double Dx, double Dy, double DArea) MotionStats(float[] clip, int T, int S)
    {
        int plane = S * S;
        var cx = new double[T - 1];
        var cy = new double[T - 1];
        var area = new double[T - 1];
        for (int t = 0; t < T - 1; t++)
        {
            double sw = 0, sx = 0, sy = 0;
            for (int p = 0; p < plane; p++)
            {
                float d = 0;
                for (int c = 0; c < 3; c++)
                    d = Math.Max(d, Math.Abs(clip[((t + 1) * 3 + c) * plane + p] - clip[(t * 3 + c) * plane + p]));
                if (d < 0.15f) continue;   // pixel noise stays below this
                sw += 1; sx += p % S; sy += p / S;
            }
            cx[t] = sw > 0 ? sx / sw : S / 2.0;
            cy[t] = sw > 0 ? sy / sw : S / 2.0;
            area[t] = sw;
        }
        return (Slope(cx), Slope(cy), Slope(area));
    }

    private static double Slope(double[] v)
    {
        double mt = (v.Length - 1) / 2.0, mv = v.Average(), num = 0, den = 0;
        for (int t = 0; t < v.Length; t++) { num += (t - mt) * (v[t] - mv); den += (t - mt) * (t - mt); }
        return num / den;
    }

    [Fact]
    public void MotionIsVisibleAndPointsTheRightWay()
    {
        const int T = 8, S = 64, N = 48;
        var ds = new SyntheticMotionDataset(Raw(T, S) with { TrainCount = 8 * N });
        var correct = new int[8];
        var speed = new double[8];
        for (int i = 0; i < 8 * N; i++)
        {
            var s = ds.Load(i, new Random(0));
            var (dx, dy, da) = MotionStats(s.Data, T, S);
            bool ok = s.Label switch
            {
                0 => dx < 0, 1 => dx > 0, 2 => dy < 0, 3 => dy > 0,
                6 => da > 0, 7 => da < 0,
                _ => true,
            };
            if (ok) correct[s.Label]++;
            speed[s.Label] += s.Label < 2 ? Math.Abs(dx) : Math.Abs(dy);
        }
        for (int c = 0; c < 8; c++) _out.WriteLine($"{ds.ClassNames[c],-22} direction right in {correct[c]}/{N}, mean centroid speed {speed[c] / N:0.00} px/frame");
        for (int c = 0; c < 4; c++)
        {
            Assert.True(correct[c] >= 0.9 * N, $"{ds.ClassNames[c]}: motion direction visible in only {correct[c]}/{N} clips");
            Assert.True(speed[c] / N >= 2.0, $"{ds.ClassNames[c]}: only {speed[c] / N:0.00} px/frame");
        }
        Assert.True(correct[6] >= 0.85 * N && correct[7] >= 0.85 * N, $"grow {correct[6]}/{N}, shrink {correct[7]}/{N}");
    }

    [Fact]
    public void FramesChangeMarkedlyForEveryClass()
    {
        const int T = 8, S = 64;
        for (int label = 0; label < 8; label++)
        {
            double changed = 0;
            for (ulong seed = 0; seed < 10; seed++)
            {
                var clip = SyntheticMotionDataset.Render(label, seed * 31 + 5, T, S, normalize: false);
                int plane = S * S;
                for (int t = 0; t < T - 1; t++)
                    for (int p = 0; p < plane; p++)
                        if (Math.Abs(clip[((t + 1) * 3) * plane + p] - clip[(t * 3) * plane + p]) > 0.15f) changed++;
            }
            double perFrame = changed / (10 * (T - 1));
            Assert.True(perFrame > 40, $"class {label}: only {perFrame:0} changed pixels per frame");
        }
    }

    [Fact]
    public void OtherSizesWork()
    {
        foreach (var (t, s) in new[] { (2, 16), (4, 32), (16, 112), (32, 64) })
        {
            var ds = new SyntheticMotionDataset(new SyntheticMotionOptions { Frames = t, Size = s, TrainCount = 16 });
            for (int i = 0; i < 16; i++)
            {
                var clip = ds.Load(i, new Random(0));
                Assert.Equal(new[] { t, 3, s, s }, clip.ClipShape);
                Assert.All(clip.Data, v => Assert.True(float.IsFinite(v)));
            }
        }
    }
}
