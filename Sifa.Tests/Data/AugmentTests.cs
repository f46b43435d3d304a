using Sifa.Data;

namespace Sifa.Tests.Data;

public class AugmentTests
{
    // A 3 x 2 x 3 image (planar RGB) with a gray pixel, saturated ones and one at each hue sextant boundary region.
    private static float[] Image() => new[]
    {
        0.9f, 0.1f, 0.5f, 0.3f, 0.3f, 1.0f,
        0.2f, 0.8f, 0.5f, 0.6f, 0.3f, 0.0f,
        0.4f, 0.3f, 0.5f, 0.1f, 0.3f, 0.2f,
    };

    // torchvision 0.14 (tensor path): F.adjust_hue(x, 0.1), F.adjust_hue(x, -0.37), F.adjust_saturation(x, 1.6),
    // F.adjust_contrast(x, 0.7), F.adjust_brightness(x, 1.3), F.rgb_to_grayscale(x, 3) on Image().
    private static readonly float[] Hue01 = { 0.899999976f, 0.100000001f, 0.5f, 0.100000016f, 0.300000012f, 1f, 0.419999868f, 0.800000012f, 0.5f, 0.600000024f, 0.300000012f, 0.400000334f, 0.199999988f, 0.71999985f, 0.5f, 0.199999928f, 0.300000012f, 0f };
    private static readonly float[] HueNeg = { 0.199999988f, 0.800000012f, 0.5f, 0.600000024f, 0.300000012f, 0f, 0.55400008f, 0.145999908f, 0.5f, 0.100000016f, 0.300000012f, 0.419999838f, 0.899999976f, 0.100000001f, 0.5f, 0.409999996f, 0.300000012f, 1f };
    private static readonly float[] Sat16 = { 1f, 0f, 0.500029981f, 0.208037972f, 0.300018013f, 1f, 0.0607940257f, 0.959786057f, 0.500029981f, 0.688037992f, 0.300018013f, 0f, 0.380794048f, 0.159785986f, 0.500029981f, 0f, 0.300018013f, 0.126980007f };
    private static readonly float[] Con07 = { 0.757029533f, 0.197029501f, 0.477029502f, 0.337029517f, 0.337029517f, 0.827029467f, 0.267029524f, 0.687029481f, 0.477029502f, 0.547029495f, 0.337029517f, 0.127029508f, 0.40702951f, 0.337029517f, 0.477029502f, 0.197029501f, 0.337029517f, 0.267029524f };
    private static readonly float[] Bri13 = { 1f, 0.129999995f, 0.649999976f, 0.390000015f, 0.390000015f, 1f, 0.25999999f, 1f, 0.649999976f, 0.780000031f, 0.390000015f, 0f, 0.519999981f, 0.390000015f, 0.649999976f, 0.129999995f, 0.390000015f, 0.25999999f };
    private static readonly float[] Gray = { 0.432009995f, 0.533690035f, 0.499950022f, 0.453270048f, 0.299970031f, 0.321700007f, 0.432009995f, 0.533690035f, 0.499950022f, 0.453270048f, 0.299970031f, 0.321700007f, 0.432009995f, 0.533690035f, 0.499950022f, 0.453270048f, 0.299970031f, 0.321700007f };

    private static void Close(float[] expected, float[] actual, float tol = 2e-6f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void ColourMathsMatchesTorchvision()
    {
        var x = Image(); ClipPixelOps.Hue(x, 6, 0.1f); Close(Hue01, x);
        x = Image(); ClipPixelOps.Hue(x, 6, -0.37f); Close(HueNeg, x);
        x = Image(); ClipPixelOps.Saturation(x, 6, 1.6f); Close(Sat16, x);
        x = Image(); ClipPixelOps.Contrast(x, 6, 0.7f); Close(Con07, x);
        x = Image(); ClipPixelOps.Brightness(x, 1.3f); Close(Bri13, x);
        x = Image(); ClipPixelOps.Grayscale(x, 6); Close(Gray, x);
        // HSV round trip is the identity (hue shift 0), gray pixels keep hue 0
        x = Image(); ClipPixelOps.Hue(x, 6, 0f); Close(Image(), x, 1e-6f);
        Assert.Equal((0f, 0f, 0.3f), ClipPixelOps.RgbToHsv(0.3f, 0.3f, 0.3f));
    }

    [Fact]
    public void GaussianBlurKeepsConstantsAndMass()
    {
        var x = Enumerable.Repeat(0.25f, 3 * 5 * 7).ToArray();
        ClipPixelOps.GaussianBlur(x, 5, 7, 1.7);
        Assert.All(x, v => Assert.Equal(0.25f, v, 5));
        var y = new float[3 * 9 * 9];
        y[4 * 9 + 4] = 1f;
        ClipPixelOps.GaussianBlur(y, 9, 9, 0.8);
        Assert.Equal(1f, y.Take(81).Sum(), 4);
        Assert.True(y[4 * 9 + 4] < 0.5f && y[4 * 9 + 3] > 0.05f && Math.Abs(y[3 * 9 + 4] - y[4 * 9 + 5]) < 1e-6f);
        Assert.Equal(new[] { 1, 0, 1, 2, 3, 2, 1 }, new[] { -1, 0, 1, 2, 3, 4, 5 }.Select(i => ClipPixelOps.Reflect(i, 4)));
    }

    private static ClipPipeline Pipe(ClipAugmentOptions a, bool flip = true, int frames = 4) => new(new DenseSampler(frames, 1), true, new ClipTransformOptions
    {
        ShortSideMin = 24, ShortSideMax = 30, CropSize = 20, TestShortSide = 24, TestCropSize = 20, HorizontalFlip = flip, ResizeInFfmpeg = false, Augment = a,
    });

    public static TheoryData<string> Recipes() => new() { "official", "randaugment", "multiscale", "everything" };

    private static ClipAugmentOptions Named(string n) => n switch
    {
        "official" => ClipAugmentOptions.Official,
        "randaugment" => ClipAugmentOptions.OfficialRandAugment with { RandAugmentN = 4 },
        "multiscale" => ClipAugmentOptions.Official with { Crop = TrainCropMode.MultiScale, ColorJitterProbability = 1, GrayscaleProbability = 0.5 },
        _ => ClipAugmentOptions.Official with { ColorJitterProbability = 1, GrayscaleProbability = 1, BlurProbability = 1 },
    };

    [Theory, MemberData(nameof(Recipes))]
    public void EveryFrameOfAClipGetsTheSameParameters(string recipe)
    {
        // A one-frame video: every sampled index is frame 0, so the frames of the output differ only if the random
        // parameters were drawn per frame.
        var src = new FakeFrameSource(1, 40, 48);
        var pipe = Pipe(Named(recipe));
        for (int seed = 0; seed < 12; seed++)
        {
            var s = pipe.Run(src, 0, new Random(seed));
            int n = s.ClipLength / s.Frames;
            for (int t = 1; t < s.Frames; t++) Assert.Equal(s.Data.AsSpan(0, n).ToArray(), s.Data.AsSpan(t * n, n).ToArray());
            Assert.All(s.Data, v => Assert.True(float.IsFinite(v) && v > -2.2f && v < 2.7f));
        }
    }

    [Theory, MemberData(nameof(Recipes))]
    public void AFixedSeedGivesAFixedClip(string recipe)
    {
        var src = new FakeFrameSource(12, 40, 48);
        var pipe = Pipe(Named(recipe));
        var a = pipe.Run(src, 0, new Random(7)).Data;
        Assert.Equal(a, pipe.Run(src, 0, new Random(7)).Data);
        Assert.Equal(a, Pipe(Named(recipe)).Run(src, 0, DataLoaderSeeds(7)).Data);
        Assert.NotEqual(a, pipe.Run(src, 0, new Random(8)).Data);
    }

    private static Random DataLoaderSeeds(int seed) => new(seed);

    [Fact]
    public void TheLoadersSampleRandomFixesAugmentedSamples()
    {
        var src = new FakeFrameSource(12, 40, 48);
        var pipe = Pipe(ClipAugmentOptions.Official with { ColorJitterProbability = 1 });
        var a = pipe.Run(src, 0, VideoDataLoader.SampleRandom(3, 1, 5)).Data;
        Assert.Equal(a, pipe.Run(src, 0, VideoDataLoader.SampleRandom(3, 1, 5)).Data);
        Assert.NotEqual(a, pipe.Run(src, 0, VideoDataLoader.SampleRandom(3, 2, 5)).Data);
    }

    private sealed class FakeDataset(ClipPipeline pipe) : IVideoDataset
    {
        private readonly FakeFrameSource _src = new(12, 40, 48);
        public int Count => 6;
        public IReadOnlyList<string> ClassNames { get; } = new[] { "a", "b" };
        public int GetLabel(int index) => index % 2;
        public string GetSource(int index) => "fake";
        public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default) => pipe.Run(_src, index % 2, rng);
    }

    [Fact]
    public void LoaderEpochsAreReproducibleWhateverTheWorkers()
    {
        // What a resumed run relies on: an epoch's augmented batches depend on (seed, epoch, index) only.
        var ds = new FakeDataset(Pipe(ClipAugmentOptions.Official with { ColorJitterProbability = 1, BlurProbability = 1 }));
        float[][] Epoch(int workers, int epoch) => new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 2, Shuffle = true, Seed = 4, Workers = workers })
            .GetEpoch(epoch).Select(b => b.Clips.ToArray()).ToArray();
        var a = Epoch(0, 1);
        Assert.Equal(a, Epoch(2, 1));
        Assert.Equal(a, Epoch(0, 1));
        Assert.NotEqual(a, Epoch(0, 2));
    }

    [Fact]
    public void ANoOpAugmentationGivesThePlainPipelinesClip()
    {
        // Active (a blur with probability ~0) but changing nothing: the augmented path draws the crop and flip in the
        // plain path's order and resamples identically; only the normalisation's float rounding differs.
        var src = new FakeFrameSource(12, 40, 48);
        var plain = Pipe(ClipAugmentOptions.None);
        var aug = Pipe(ClipAugmentOptions.None with { BlurProbability = 1e-300 });
        for (int seed = 0; seed < 6; seed++)
        {
            var p = plain.Run(src, 0, new Random(seed)).Data;
            var q = aug.Run(src, 0, new Random(seed)).Data;
            for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(p[i] - q[i]) < 1e-5f, $"seed {seed} [{i}]: {p[i]} vs {q[i]}");
        }
    }

    [Fact]
    public void RandomResizedCropWindowsFollowScaleAndRatio()
    {
        var rng = new Random(1);
        for (int i = 0; i < 500; i++)
        {
            var w = CropWindows.RandomResized(256, 341, 0.2, 1, 0.75, 4.0 / 3, rng);
            Assert.True(w.Y >= 0 && w.X >= 0 && w.Y + w.Height <= 256 && w.X + w.Width <= 341, w.ToString());
            double area = (double)w.Width * w.Height / (256 * 341), ratio = (double)w.Width / w.Height;
            Assert.InRange(area, 0.19, 1.0);
            Assert.InRange(ratio, 0.74, 1.345);
        }
        // a frame no window fits falls back to the centred crop with the ratio clamped
        Assert.Equal(new CropWindow(0, 7, 10, 13), CropWindows.RandomResized(10, 28, 0.9, 1, 1.0, 4.0 / 3, new Random(0)));
    }

    [Fact]
    public void MultiScaleCropsAreFixedPositionsOfScaledSides()
    {
        var rng = new Random(2);
        var seen = new HashSet<(int, int)>();
        for (int i = 0; i < 400; i++)
        {
            var w = CropWindows.MultiScale(256, 340, 224, new[] { 1, 0.875, 0.75, 0.66 }, rng);
            Assert.Contains(w.Height, new[] { 256, 224, 192, 168 });
            Assert.Contains(w.Width, new[] { 256, 224, 192, 168 });
            int ws = (340 - w.Width) / 4, hs = (256 - w.Height) / 4;
            Assert.Contains((w.X, w.Y), new[] { (0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs) });
            seen.Add((w.Width, w.Height));
        }
        Assert.Equal(10, seen.Count); // the (w, h) pairs at most one scale step apart: 4 + 3 + 3
    }

    [Fact]
    public void FlipsAreOffByDefaultOnlyForDirectionSensitiveData()
    {
        Assert.True(DirectionSensitive.Is(SyntheticMotionDataset.Name));
        Assert.True(DirectionSensitive.Is("/data/20bn-something-something-v1/ssv1_frame_train_list.txt"));
        Assert.True(DirectionSensitive.Is("lists/sthv2_train.txt"));
        Assert.False(DirectionSensitive.Is("/data/kinetics400/train_list.txt"));
        Assert.False(DirectionSensitive.Is("ucf101/trainlist01.txt"));
    }

    [Fact]
    public void TheOptionsAreChecked()
    {
        ClipAugmentOptions.Official.Validate();
        ClipAugmentOptions.OfficialRandAugment.Validate();
        Assert.Throws<ArgumentException>(() => (ClipAugmentOptions.None with { ScaleMin = 0 }).Validate());
        Assert.Throws<ArgumentException>(() => (ClipAugmentOptions.None with { Hue = 0.6 }).Validate());
        Assert.Throws<ArgumentException>(() => (ClipAugmentOptions.None with { GrayscaleProbability = 1.5 }).Validate());
        Assert.Throws<ArgumentException>(() => (ClipAugmentOptions.None with { RandAugmentM = 31 }).Validate());
        Assert.Throws<ArgumentException>(() => new ClipPipeline(new DenseSampler(2), true, new ClipTransformOptions { Augment = ClipAugmentOptions.None with { BlurSigmaMin = -1 } }));
        Assert.False(ClipAugmentOptions.None.IsActive);
        Assert.True(ClipAugmentOptions.Official.IsActive);
    }

    [Fact]
    public void RandAugmentDrawsTheOfficialOperations()
    {
        var names = new HashSet<string>();
        for (int seed = 0; seed < 200; seed++)
        {
            var ops = ClipPixelOps.Draw(ClipAugmentOptions.OfficialRandAugment, new Random(seed));
            Assert.Equal(2, ops.Description.Count);
            foreach (var d in ops.Description) names.Add(d.Split(' ')[0]);
            var x = Enumerable.Range(0, 3 * 8 * 8).Select(i => (i * 37 % 256) / 255f).ToArray();
            ops.Apply(x, 8, 8);
            Assert.All(x, v => Assert.InRange(v, 0f, 1f));
        }
        Assert.Equal(16, names.Count);
        // magnitude m/30 of each range: Solarize at m 27 inverts bytes ≥ 256 − 230.4
        var s = ClipPixelOps.Draw(ClipAugmentOptions.None with { Brightness = 0.4, ColorJitterProbability = 1 }, new Random(0));
        Assert.Single(s.Description);
        Assert.StartsWith("brightness", s.Description[0]);
    }
}
