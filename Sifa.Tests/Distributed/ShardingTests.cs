using Sifa.Autograd;
using Sifa.Data;
using Sifa.Distributed;
using Sifa.Tensors;

namespace Sifa.Tests.Distributed;

/// <summary>Data-parallel pieces that need no MPI: shards, the gradient-ready hook, buckets, the launch detection.</summary>
public sealed class ShardingTests
{
    private sealed class Numbered(int count) : IVideoDataset
    {
        public int Count => count;
        public IReadOnlyList<string> ClassNames { get; } = new[] { "a", "b" };
        public int GetLabel(int index) => index % 2;
        public string GetSource(int index) => $"#{index}";
        public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default) =>
            new(new float[] { index, 0, 0 }, index % 2, 1, 1, 1, 1);
    }

    [Theory]
    [InlineData(10, 4, 2, true)]
    [InlineData(10, 4, 3, false)]
    [InlineData(23, 8, 3, false)]
    [InlineData(23, 8, 8, true)]
    [InlineData(5, 4, 4, false)] // the last batch holds one sample: three shards are empty there
    public void ShardsOfEveryBatchAreDisjointAndCoverTheSingleProcessEpoch(int count, int batch, int shards, bool dropLast)
    {
        var data = new Numbered(count);
        var whole = new VideoDataLoader(data, new DataLoaderOptions { BatchSize = batch, Seed = 9, Workers = 0, DropLast = dropLast });
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = whole.GetEpochBatches(epoch).Select(b => b!.Indices).ToList();
            var parts = Enumerable.Range(0, shards).Select(r =>
                new VideoDataLoader(data, new DataLoaderOptions { BatchSize = batch, Seed = 9, Workers = r % 2, DropLast = dropLast, ShardIndex = r, ShardCount = shards })
                    .GetEpochBatches(epoch).ToList()).ToList();
            Assert.All(parts, p => Assert.Equal(expected.Count, p.Count)); // every rank steps through the same batches
            for (int b = 0; b < expected.Count; b++)
            {
                var union = parts.SelectMany(p => p[b]?.Indices ?? Array.Empty<int>()).ToArray();
                Assert.Equal(expected[b], union); // disjoint, complete, in the single process's order
                var sizes = parts.Select(p => p[b]?.Count ?? 0).ToArray();
                Assert.True(sizes.Max() - sizes.Min() <= 1, $"batch {b}: shard sizes {string.Join(",", sizes)}");
            }
        }
    }

    [Fact]
    public void ShardRangeSplitsEvenlyInOrder()
    {
        Assert.Equal((100, 3), VideoDataLoader.ShardRange(100, 7, 0, 2));
        Assert.Equal((103, 4), VideoDataLoader.ShardRange(100, 7, 1, 2));
        Assert.Equal((0, 0), VideoDataLoader.ShardRange(0, 1, 0, 2));
        Assert.Equal((0, 1), VideoDataLoader.ShardRange(0, 1, 1, 2));
        Assert.Throws<ArgumentException>(() => new VideoDataLoader(new Numbered(4), new DataLoaderOptions { ShardIndex = 2, ShardCount = 2 }));
    }

    [Fact]
    public void GradReadyHookSeesEachLeafOnceWithItsFinalGradient()
    {
        var w = new Variable(Tensor.FromArray(new[] { 1f, 2f, 3f }, 3), requiresGrad: true, name: "w");
        var b = new Variable(Tensor.FromArray(new[] { 0.5f }, 1), requiresGrad: true, name: "b");
        var x = new Variable(Tensor.FromArray(new[] { 4f, 5f, 6f }, 3));
        var y = Ops.Sum(w * x + w * w) + Ops.Sum(b * b); // w used twice: ready only after both terms
        var seen = new List<(string, float[])>();
        Engine.Backward(y, null, v => seen.Add((v.Name!, v.Grad!.ToArray())));
        Assert.Equal(2, seen.Count);
        Assert.Equal(new[] { "b", "w" }.Order(), seen.Select(s => s.Item1).Order());
        Assert.Equal(w.Grad!.ToArray(), seen.Single(s => s.Item1 == "w").Item2);
        Assert.Equal(new[] { 6f, 9f, 12f }, w.Grad!.ToArray());
    }

    [Fact]
    public void BucketsOnOneRankGiveBackTheGradients()
    {
        var ps = Enumerable.Range(0, 5).Select(i => new Variable(Tensor.FromArray(Enumerable.Range(0, 10 + i).Select(k => (float)k).ToArray(), 10 + i), requiresGrad: true)).ToList();
        var buckets = new GradientBuckets(new SingleProcess(), ps, bucketBytes: 12 * sizeof(float)); // small: several buckets
        Assert.True(buckets.BucketCount >= 3);
        Assert.Equal(ps.Sum(p => (long)p.Data.Numel), buckets.Elements);
        var loss = ps.Skip(1).Select(p => Ops.Sum(p * p)).Aggregate((a, b) => a + b); // ps[0] unused: gets a zero gradient
        buckets.Begin(samples: 4);
        Engine.Backward(loss, null, buckets.OnGradReady);
        buckets.Finish(totalSamples: 4);
        Assert.Equal(new float[10], ps[0].Grad!.ToArray());
        for (int i = 1; i < ps.Count; i++)
        {
            var expected = ps[i].Data.ToArray().Select(v => 2 * v).ToArray();
            var got = ps[i].Grad!.ToArray();
            for (int k = 0; k < got.Length; k++) Assert.Equal(expected[k], got[k], 1e-5f);
        }
    }

    [SkippableFact]
    public void WithoutMpirunTheJobIsOneProcessAndLoadsNoMpiLibrary()
    {
        Skip.If(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null, "the tests themselves run under mpirun");
        Assert.Equal(1, Launch.WorldSize);
        using var c = Launch.FromEnvironment();
        Assert.IsType<SingleProcess>(c);
        Assert.DoesNotContain(System.Diagnostics.Process.GetCurrentProcess().Modules.Cast<System.Diagnostics.ProcessModule>(), m => m.ModuleName.StartsWith("libmpi", StringComparison.Ordinal));
    }
}
