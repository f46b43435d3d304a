using Sifa.Data;

namespace Sifa.Tests.Data;

public class SamplingTests
{
    [Fact]
    public void SegmentsAtTestTimeTakeSegmentCentres()
    {
        Assert.Equal(new[] { 5, 15, 25, 35, 45, 55, 65, 75 }, FrameSampling.Segments(80, 8, training: false, rng: null));
        // 40 frames, 4 segments of 10 -> centres 5, 15, 25, 35
        Assert.Equal(new[] { 5, 15, 25, 35 }, FrameSampling.Segments(40, 4, false, null));
    }

    [Fact]
    public void SegmentsInTrainingTakeOneRandomFramePerSegment()
    {
        var seen = new HashSet<int>[8];
        for (int i = 0; i < 8; i++) seen[i] = new HashSet<int>();
        var rng = new Random(1);
        for (int trial = 0; trial < 400; trial++)
        {
            var idx = FrameSampling.Segments(80, 8, true, rng);
            Assert.Equal(8, idx.Length);
            for (int s = 0; s < 8; s++)
            {
                Assert.InRange(idx[s], s * 10, s * 10 + 9);
                seen[s].Add(idx[s] - s * 10);
            }
        }
        Assert.All(seen, s => Assert.Equal(10, s.Count));   // every offset in every segment occurs
    }

    [Fact]
    public void SegmentsOnShortVideosFollowMmaction()
    {
        // 5 frames, 8 segments: train spreads evenly (numpy.around, half to even), test centres.
        Assert.Equal(new[] { 0, 1, 1, 2, 2, 3, 4, 4 }, FrameSampling.Segments(5, 8, true, new Random(0)));
        Assert.Equal(new[] { 0, 0, 1, 2, 2, 3, 4, 4 }, FrameSampling.Segments(5, 8, false, null));
        // 10 frames, 8 segments: avg interval 1 -> one random frame of each 1-frame segment
        Assert.Equal(Enumerable.Range(0, 8).ToArray(), FrameSampling.Segments(10, 8, true, new Random(3)));
    }

    [Fact]
    public void DenseClipsStartRandomlyAndStepByTheInterval()
    {
        var rng = new Random(7);
        var starts = new HashSet<int>();
        for (int trial = 0; trial < 2000; trial++)
        {
            var idx = FrameSampling.Dense(100, 8, 2, rng);
            Assert.Equal(8, idx.Length);
            for (int j = 1; j < 8; j++) Assert.Equal(idx[0] + 2 * j, idx[j]);
            Assert.InRange(idx[0], 0, 100 - 16);
            starts.Add(idx[0]);
        }
        Assert.Equal(85, starts.Count);   // starts 0..84 all reachable
    }

    [Fact]
    public void DenseClipsLoopOnVideosShorterThanTheClip()
    {
        // span 16 > 10 frames: start 0, indices wrap modulo the frame count
        Assert.Equal(new[] { 0, 2, 4, 6, 8, 0, 2, 4 }, FrameSampling.Dense(10, 8, 2, new Random(0)));
    }

    [Fact]
    public void UniformTestClipsAreEvenlySpaced()
    {
        // (100 - 8 + 1) / 4 = 23.25 -> starts floor(i * 23.25 + 11.625)
        var idx = FrameSampling.Uniform(100, 8, 1, 4);
        Assert.Equal(32, idx.Length);
        Assert.Equal(new[] { 11, 34, 58, 81 }, new[] { idx[0], idx[8], idx[16], idx[24] });
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 8; j++) Assert.Equal(idx[c * 8] + j, idx[c * 8 + j]);
        // a single test clip sits in the middle
        Assert.Equal(46, FrameSampling.Uniform(100, 8, 1, 1)[0]);
    }

    [Fact]
    public void SamplersReportClipGeometry()
    {
        var tsn = new SegmentSampler(8);
        Assert.Equal(8, tsn.FramesPerClip);
        Assert.Equal(1, tsn.ClipsPerSample(false));
        var dense = new DenseSampler(16, 4, testClips: 10);
        Assert.Equal(16, dense.FramesPerClip);
        Assert.Equal(1, dense.ClipsPerSample(true));
        Assert.Equal(10, dense.ClipsPerSample(false));
        Assert.Equal(160, dense.Sample(300, false, new Random(0)).Length);
        Assert.Equal(16, dense.Sample(300, true, new Random(0)).Length);
    }

    [Fact]
    public void SamplingIsAFunctionOfTheRandomState()
    {
        Assert.Equal(FrameSampling.Segments(123, 8, true, new Random(42)), FrameSampling.Segments(123, 8, true, new Random(42)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameSampling.Segments(0, 8, true, new Random(0)));
        Assert.Throws<ArgumentNullException>(() => FrameSampling.Segments(10, 8, true, null));
    }
}
