using Sifa.Data;

namespace Sifa.Tests.Data;

public class ImageOpsTests
{
    [Fact]
    public void BilinearUpsampleMatchesHalfPixelReference()
    {
        // PyTorch F.interpolate([[0,1],[2,3]], size=4, mode='bilinear', align_corners=False)
        var r = ImageOps.ResizeBilinear(new float[] { 0, 1, 2, 3 }, 1, 2, 2, 4, 4);
        var expected = new float[]
        {
            0.00f, 0.25f, 0.75f, 1.00f,
            0.50f, 0.75f, 1.25f, 1.50f,
            1.50f, 1.75f, 2.25f, 2.50f,
            2.00f, 2.25f, 2.75f, 3.00f,
        };
        for (int i = 0; i < 16; i++) Assert.Equal(expected[i], r[i], 5);
    }

    [Fact]
    public void BilinearHalvingAveragesPixelQuads()
    {
        var src = Enumerable.Range(0, 16).Select(i => (float)i).ToArray();
        var r = ImageOps.ResizeBilinear(src, 1, 4, 4, 2, 2);
        Assert.Equal(new[] { 2.5f, 4.5f, 10.5f, 12.5f }, r);
        // several planes are resized independently
        var two = ImageOps.ResizeBilinear(src.Concat(src.Select(v => v * 2)).ToArray(), 2, 4, 4, 2, 2);
        Assert.Equal(new[] { 2.5f, 4.5f, 10.5f, 12.5f, 5f, 9f, 21f, 25f }, two);
    }

    [Fact]
    public void ByteResizeRoundsInterleavedChannels()
    {
        // 1x2 RGB image -> 1x4: columns sample at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped)
        var src = new byte[] { 0, 100, 255, 10, 200, 55 };
        var r = ImageOps.ResizeBilinear(src, 1, 2, 3, 1, 4);
        Assert.Equal(new byte[] { 0, 100, 255, 3, 125, 205, 8, 175, 105, 10, 200, 55 }, r);
        // identity size is a copy
        Assert.Equal(src, ImageOps.ResizeBilinear(src, 1, 2, 3, 1, 2));
    }

    [Fact]
    public void ShortSideResizeKeepsAspect()
    {
        Assert.Equal((256, 341), ImageOps.ShortSideSize(240, 320, 256));
        Assert.Equal((455, 256), ImageOps.ShortSideSize(480, 270, 256));
        Assert.Equal((340, 340), ImageOps.ShortSideSize(100, 100, 340));
    }

    [Fact]
    public void CropsTakeTheRightWindow()
    {
        var src = Enumerable.Range(0, 2 * 4 * 5).Select(i => (float)i).ToArray();   // 2 planes of 4x5
        var c = ImageOps.Crop(src, 2, 4, 5, 1, 2, 2, 3);
        Assert.Equal(new float[] { 7, 8, 9, 12, 13, 14, 27, 28, 29, 32, 33, 34 }, c);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageOps.Crop(src, 2, 4, 5, 3, 0, 2, 2));

        Assert.Equal((16, 58), ImageOps.CenterCropOffset(256, 341, 224));
        Assert.Equal(new[] { (0, 0), (0, 42), (0, 85) }, ImageOps.ThreeCropOffsets(256, 341, 256));
        Assert.Equal(new[] { (0, 0), (99, 0), (199, 0) }, ImageOps.ThreeCropOffsets(455, 256, 256));
    }

    [Fact]
    public void FlipMirrorsEveryRow()
    {
        var d = new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };   // 2 planes of 2x3
        ImageOps.FlipHorizontal(d, 2, 2, 3);
        Assert.Equal(new float[] { 3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10 }, d);
    }

    [Fact]
    public void NormalisationUsesImageNetStatistics()
    {
        // one 1x1 frame, RGB = (0.5, 0, 1) and a second frame (0.485, 0.456, 0.406) -> zeros
        var d = new float[] { 0.5f, 0f, 1f, 0.485f, 0.456f, 0.406f };
        ImageOps.Normalize(d, 2, 1, 1);
        Assert.Equal((0.5f - 0.485f) / 0.229f, d[0], 5);
        Assert.Equal(-0.456f / 0.224f, d[1], 5);
        Assert.Equal((1f - 0.406f) / 0.225f, d[2], 5);
        Assert.All(d[3..], v => Assert.Equal(0f, v, 5));
        Assert.Equal(0.06550218f, d[0], 5);
    }

    [Fact]
    public void PlanarConversionSeparatesChannels()
    {
        var rgb = new byte[] { 255, 0, 51, 0, 255, 102 };   // one 1x2 frame
        var p = ImageOps.ToPlanar(rgb, 1, 1, 2);
        Assert.Equal(new[] { 1f, 0f, 0f, 1f, 0.2f, 0.4f }, p.Select(v => MathF.Round(v, 5)));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void FusedPipelineEqualsTheStepByStepTransforms(bool training, bool resizeInDecoder)
    {
        var src = new FakeFrameSource(frames: 30, height: 36, width: 50);
        var opts = new ClipTransformOptions
        {
            ShortSideMin = 40, ShortSideMax = 48, CropSize = 32, TestShortSide = 44, TestCropSize = 40,
            ResizeInFfmpeg = resizeInDecoder, HorizontalFlip = true, FlipProbability = 0.5,
        };
        var pipeline = new ClipPipeline(new SegmentSampler(4), training, opts);
        for (int seed = 0; seed < 6; seed++)
        {
            var sample = pipeline.Run(src, 3, new Random(seed));
            Assert.Equal(3, sample.Label);
            int size = training ? 32 : 40;
            Assert.Equal(new[] { 4, 3, size, size }, sample.ClipShape);

            // Replay the random draws in the pipeline's order: frames, short side, crop y, crop x, flip.
            var rng = new Random(seed);
            var idx = FrameSampling.Segments(30, 4, training, rng);
            int shortSide = training ? rng.Next(40, 49) : 44;
            var (rh, rw) = ImageOps.ShortSideSize(36, 50, shortSide);
            int y, x;
            bool flip = false;
            if (training) { y = rng.Next(rh - size + 1); x = rng.Next(rw - size + 1); flip = rng.NextDouble() < 0.5; }
            else (y, x) = ImageOps.CenterCropOffset(rh, rw, size);

            var expected = new List<float>();
            foreach (var f in idx)
            {
                float[] planar;
                if (resizeInDecoder)   // the decoder resized (with rounding to bytes)
                    planar = ImageOps.ToPlanar(ImageOps.ResizeBilinear(src.NativeFrame(f), 36, 50, 3, rh, rw), 1, rh, rw);
                else
                    planar = ImageOps.ResizeBilinear(ImageOps.ToPlanar(src.NativeFrame(f), 1, 36, 50), 3, 36, 50, rh, rw);
                var crop = ImageOps.Crop(planar, 3, rh, rw, y, x, size, size);
                if (flip) ImageOps.FlipHorizontal(crop, 3, size, size);
                ImageOps.Normalize(crop, 1, size, size);
                expected.AddRange(crop);
            }
            Assert.Equal(expected.Count, sample.Data.Length);
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i], sample.Data[i], 1e-4f);
        }
    }

    [Fact]
    public void ThreeCropAndMultiClipTestingMakeViews()
    {
        var src = new FakeFrameSource(frames: 60, height: 36, width: 50);
        var opts = new ClipTransformOptions { ShortSideMin = 32, ShortSideMax = 32, CropSize = 32, TestShortSide = 36, TestCropSize = 36, TestCrop = TestCropMode.ThreeCrop, ResizeInFfmpeg = false, Normalize = false };
        var pipeline = new ClipPipeline(new DenseSampler(4, 2, testClips: 2), training: false, opts);
        Assert.Equal(6, pipeline.ViewsPerSample);
        var s = pipeline.Run(src, 0, new Random(0));
        Assert.Equal(6, s.Views);
        Assert.Equal(6 * 4 * 3 * 36 * 36, s.Data.Length);
        // no resize (short side already 36): view k of clip 0 is columns [0, 7, 14] + 36 of the native frames
        var idx = FrameSampling.Uniform(60, 4, 2, 2);
        int[] xs = { 0, 7, 14 };
        for (int clip = 0; clip < 2; clip++)
            for (int k = 0; k < 3; k++)
            {
                int view = clip * 3 + k;
                int t = 1, c = 2, yy = 5, xx = 9;
                float got = s.Data[(((view * 4 + t) * 3 + c) * 36 + yy) * 36 + xx];
                byte want = FakeFrameSource.Pixel(idx[clip * 4 + t], yy * 50 + xx + xs[k], c);
                Assert.Equal(want / 255f, got, 5);
            }
        Assert.All(s.Data, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void OptionsAreValidated()
    {
        Assert.Throws<ArgumentException>(() => new ClipPipeline(new SegmentSampler(2), true, new ClipTransformOptions { CropSize = 300 }));
        Assert.Throws<ArgumentException>(() => new ClipPipeline(new SegmentSampler(2), true, new ClipTransformOptions { TestCropSize = 300 }));
    }
}
