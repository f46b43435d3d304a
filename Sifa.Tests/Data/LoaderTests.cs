using Sifa.Data;

namespace Sifa.Tests.Data;

/// <summary>A dataset whose samples are drawn from the random source, with configurable failures.</summary>
internal sealed class FakeDataset : IVideoDataset
{
    private int _active, _maxActive;

    public FakeDataset(int count, int frames = 2, int size = 4) { Count = count; Frames = frames; Size = size; }

    public int Count { get; }
    public int Frames { get; }
    public int Size { get; }
    public HashSet<int> Bad { get; } = new();
    public HashSet<int> Broken { get; } = new();     // throw a non-input exception (a bug)
    public int DelayMs { get; set; }
    public int MaxConcurrent => Volatile.Read(ref _maxActive);
    public System.Collections.Concurrent.ConcurrentBag<int> Loaded { get; } = new();
    public IReadOnlyList<string> ClassNames { get; } = new[] { "a", "b", "c" };
    public int GetLabel(int index) => index % 3;
    public string GetSource(int index) => $"/data/video_{index}.mp4";

    public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default)
    {
        int now = Interlocked.Increment(ref _active);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxActive)) && Interlocked.CompareExchange(ref _maxActive, now, seen) != seen) { }
        try
        {
            if (DelayMs > 0) Thread.Sleep(Random.Shared.Next(DelayMs + 1));   // timing noise
            cancellationToken.ThrowIfCancellationRequested();
            if (Bad.Contains(index)) throw new SampleLoadException(GetSource(index), "corrupt video");
            if (Broken.Contains(index)) throw new InvalidOperationException("bug in dataset");
            Loaded.Add(index);
            var data = new float[Frames * 3 * Size * Size];
            data[0] = index;
            for (int i = 1; i < data.Length; i++) data[i] = (float)rng.NextDouble();
            return new VideoSample(data, GetLabel(index), 1, Frames, Size, Size);
        }
        finally { Interlocked.Decrement(ref _active); }
    }
}

public class LoaderTests
{
    private static List<(float[] Clips, int[] Labels, int[] Indices)> Run(VideoDataLoader loader, int epoch) =>
        loader.GetEpoch(epoch).Select(b => (b.Clips.ToArray(), b.Labels, b.Indices)).ToList();

    [Fact]
    public void SameSeedGivesTheSameBatchesWhateverTheWorkerCount()
    {
        List<(float[], int[], int[])>? reference = null;
        foreach (var workers in new[] { 0, 1, 2, 5 })
        {
            var ds = new FakeDataset(37) { DelayMs = workers > 0 ? 2 : 0 };
            var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = workers, Seed = 11, PrefetchBatches = 3 });
            var got = Run(loader, epoch: 2);
            Assert.Equal(10, got.Count);
            Assert.Single(got[^1].Item2);   // 37 = 9 * 4 + 1
            if (reference == null) { reference = got; continue; }
            for (int b = 0; b < got.Count; b++)
            {
                Assert.Equal(reference[b].Item1, got[b].Item1);
                Assert.Equal(reference[b].Item2, got[b].Item2);
                Assert.Equal(reference[b].Item3, got[b].Item3);
            }
        }
        // the order is a permutation of the dataset
        Assert.Equal(Enumerable.Range(0, 37), reference!.SelectMany(b => b.Item3).Order());
    }

    [Fact]
    public void OrderDependsOnSeedAndEpochAndAugmentationOnIndex()
    {
        Assert.Equal(VideoDataLoader.EpochOrder(50, true, 1, 0), VideoDataLoader.EpochOrder(50, true, 1, 0));
        Assert.NotEqual(VideoDataLoader.EpochOrder(50, true, 1, 0), VideoDataLoader.EpochOrder(50, true, 1, 1));
        Assert.NotEqual(VideoDataLoader.EpochOrder(50, true, 1, 0), VideoDataLoader.EpochOrder(50, true, 2, 0));
        Assert.Equal(Enumerable.Range(0, 50), VideoDataLoader.EpochOrder(50, false, 1, 3));

        var loader = new VideoDataLoader(new FakeDataset(20), new DataLoaderOptions { BatchSize = 5, Seed = 3, Workers = 2 });
        var e0 = Run(loader, 0);
        var e1 = Run(loader, 1);
        Assert.NotEqual(e0.SelectMany(b => b.Indices), e1.SelectMany(b => b.Indices));
        // a sample's random state is a function of (seed, epoch, index)
        float SecondValueOf(List<(float[] Clips, int[] Labels, int[] Indices)> run, int index)
        {
            foreach (var (clips, _, idx) in run)
                for (int k = 0; k < idx.Length; k++)
                    if (idx[k] == index) return clips[k * 2 * 3 * 16 + 1];
            throw new InvalidOperationException();
        }
        Assert.Equal((float)VideoDataLoader.SampleRandom(3, 0, 7).NextDouble(), SecondValueOf(e0, 7));
        Assert.Equal((float)VideoDataLoader.SampleRandom(3, 1, 7).NextDouble(), SecondValueOf(e1, 7));
        Assert.NotEqual(SecondValueOf(e0, 7), SecondValueOf(e1, 7));
    }

    [Fact]
    public void BatchesHaveTheDocumentedShape()
    {
        var ds = new SyntheticMotionDataset(new SyntheticMotionOptions { Frames = 4, Size = 24, TrainCount = 10 });
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 2, DropLast = true });
        var batches = loader.ToList();
        Assert.Equal(2, batches.Count);
        Assert.Equal(2, loader.BatchesPerEpoch);
        Assert.Equal(new[] { 4, 4, 3, 24, 24 }, batches[0].Clips.Shape);
        Assert.Equal(1, batches[0].ViewsPerSample);
        Assert.All(batches, b => Assert.Equal(b.Indices.Select(ds.GetLabel), b.Labels));
    }

    [Fact]
    public async Task AsyncEnumerationMatchesSync()
    {
        var ds = new FakeDataset(23) { DelayMs = 1 };
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 3, Workers = 3, Seed = 5 });
        loader.Epoch = 4;
        var sync = loader.Select(b => b.Clips.ToArray()).ToList();
        var asyncList = new List<float[]>();
        await foreach (var b in loader) asyncList.Add(b.Clips.ToArray());
        Assert.Equal(sync.Count, asyncList.Count);
        for (int i = 0; i < sync.Count; i++) Assert.Equal(sync[i], asyncList[i]);
        var viaMethod = new List<float[]>();
        await foreach (var b in loader.GetEpochAsync(4)) viaMethod.Add(b.Clips.ToArray());
        Assert.Equal(sync[0], viaMethod[0]);
    }

    [Fact]
    public void PrefetchIsBounded()
    {
        var ds = new FakeDataset(200);
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 4, PrefetchBatches = 2, Shuffle = false });
        int consumed = 0;
        foreach (var b in loader.GetEpoch(0))
        {
            consumed++;
            Thread.Sleep(15);   // slow consumer: workers must wait
            // batches taken + prefetch window (the batch in hand counts as taken)
            Assert.True(ds.Loaded.Count <= (consumed + 2) * 4, $"{ds.Loaded.Count} samples loaded after {consumed} batches");
            if (consumed == 10) break;   // leaving early stops the workers
        }
        Thread.Sleep(50);
        Assert.True(ds.Loaded.Count <= 12 * 4);
    }

    [Fact]
    public void BadSamplesAreReplacedCountedAndReported()
    {
        var ds = new FakeDataset(30);
        ds.Bad.UnionWith(new[] { 4, 5, 17 });
        var reported = new System.Collections.Concurrent.ConcurrentBag<BadSampleInfo>();
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 3, Seed = 1, OnBadSample = reported.Add });
        var batches = loader.GetEpoch(0).ToList();
        var indices = batches.SelectMany(b => b.Indices).ToList();
        Assert.Equal(30, indices.Count);                       // every slot filled
        Assert.DoesNotContain(4, indices);
        Assert.DoesNotContain(17, indices);
        // 4 -> 6 (5 is bad too), 5 -> 6, 17 -> 18: those appear twice
        Assert.Equal(3, indices.Count(i => i == 6));
        Assert.Equal(2, indices.Count(i => i == 18));
        Assert.Equal(4, loader.BadSamples);                    // 4, 5 (tried as 4's replacement), 5, 17
        Assert.Equal(3, loader.SamplesReplaced);
        Assert.Equal(0, loader.SamplesDropped);
        Assert.Equal(new[] { 4, 5, 17 }, reported.Select(r => r.Index).Order());
        Assert.All(reported, r => Assert.Equal($"/data/video_{r.Index}.mp4", r.Path));
        Assert.Equal(new[] { 4, 5, 17 }, loader.BadSampleLog.Select(r => r.Index));

        // the same batches whatever the worker count
        var again = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 0, Seed = 1 }).GetEpoch(0).ToList();
        Assert.Equal(indices, again.SelectMany(b => b.Indices));
    }

    [Fact]
    public void DropPolicyShrinksBatches()
    {
        var ds = new FakeDataset(12);
        ds.Bad.UnionWith(new[] { 0, 1 });
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 2, Shuffle = false, BadSamples = BadSamplePolicy.Drop });
        var batches = loader.GetEpoch(0).ToList();
        Assert.Equal(new[] { 2, 4, 4 }, batches.Select(b => b.Count));
        Assert.Equal(new[] { 2, 2, 3, 4, 4 }, batches[0].Clips.Shape);
        Assert.Equal(2, loader.SamplesDropped);
    }

    [Fact]
    public void StrictModeThrowsWithThePath()
    {
        var ds = new FakeDataset(40);
        ds.Bad.Add(9);
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 3, Strict = true, Shuffle = false });
        var e = Assert.Throws<SampleLoadException>(() => loader.GetEpoch(0).ToList());
        Assert.Equal("/data/video_9.mp4", e.Path);
        Assert.Equal(9, e.Index);
        Assert.Contains("/data/video_9.mp4", e.Message);
        // also without workers
        var inline = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 0, Strict = true });
        Assert.Throws<SampleLoadException>(() => inline.GetEpoch(0).ToList());
    }

    [Fact]
    public void UnexpectedWorkerErrorsSurfaceOnTheConsumer()
    {
        var ds = new FakeDataset(40);
        ds.Broken.Add(13);
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 2 });
        var e = Assert.Throws<DataLoaderException>(() => loader.GetEpoch(0).ToList());
        Assert.IsType<InvalidOperationException>(e.InnerException);
        // the loader still works afterwards
        ds.Broken.Clear();
        Assert.Equal(10, loader.GetEpoch(1).Count());
    }

    [Fact]
    public void CancellationStopsTheEpoch()
    {
        var ds = new FakeDataset(400) { DelayMs = 2 };
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 4, Workers = 2 });
        using var cts = new CancellationTokenSource();
        int n = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var _ in loader.GetEpoch(0, cts.Token))
                if (++n == 3) cts.Cancel();
        });
        Assert.Equal(3, n);
    }

    [Fact]
    public void WorkersRunConcurrently()
    {
        var ds = new FakeDataset(48) { DelayMs = 10 };
        var loader = new VideoDataLoader(ds, new DataLoaderOptions { BatchSize = 8, Workers = 4, PrefetchBatches = 2 });
        Assert.Equal(6, loader.GetEpoch(0).Count());
        Assert.InRange(ds.MaxConcurrent, 2, 4);
    }
}
