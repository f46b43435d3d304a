using System.Text.Json;
using Sifa.Autograd;
using Sifa.Data;
using Sifa.Distributed;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Training;

/// <summary>
/// Data-parallel training over the ranks of an <see cref="ICollective"/> (one process per rank, started by
/// <c>mpirun</c>), set on <see cref="Trainer.Parallel"/>. Rank 0's parameters, buffers and (when resuming) optimizer
/// state are broadcast at start; every rank loads its shard of each global batch (<see cref="TrainerOptions.BatchSize"/>
/// is the global batch, each rank gets about B/P of it); gradients are averaged by all-reduces of buckets started
/// while backward runs (<see cref="GradientBuckets"/>); the step's loss, accuracy and bad-sample counts are summed
/// over the ranks, so every rank takes the same decisions; validation is sharded and reduced; only rank 0 logs and
/// writes, and the others wait for its checkpoint at a barrier. Batch norm is per rank unless
/// <see cref="SyncBatchNorm"/>; the running statistics are averaged over the ranks after each epoch either way.
/// </summary>
public sealed class DataParallel
{
    private GradientBuckets? _buckets;
    private readonly double[] _totals = new double[4];

    /// <summary>Creates the data-parallel setting over <paramref name="collective"/>.</summary>
    /// <param name="collective">The ranks.</param>
    /// <param name="syncBatchNorm">Batch statistics over all ranks (<see cref="Sifa.Nn.SyncBatchNorm"/>).</param>
    /// <param name="bucketBytes">Gradient bytes per all-reduce bucket.</param>
    public DataParallel(ICollective collective, bool syncBatchNorm = false, long bucketBytes = GradientBuckets.DefaultBucketBytes)
    {
        Collective = collective;
        SyncBatchNorm = syncBatchNorm;
        BucketBytes = bucketBytes;
    }

    /// <summary>The collectives.</summary>
    public ICollective Collective { get; }

    /// <summary>Whether batch-norm statistics span all ranks.</summary>
    public bool SyncBatchNorm { get; }

    /// <summary>Gradient bytes per all-reduce bucket.</summary>
    public long BucketBytes { get; }

    /// <summary>This rank.</summary>
    public int Rank => Collective.Rank;

    /// <summary>The number of ranks.</summary>
    public int Size => Collective.Size;

    /// <summary>Whether this is rank 0, which logs and writes.</summary>
    public bool IsRoot => Collective.Rank == 0;

    /// <summary>The number of gradient buckets (after the trainer attached the model).</summary>
    public int BucketCount => _buckets?.BucketCount ?? 0;

    private sealed class Reducer(ICollective c) : IBatchStatisticsReducer
    {
        public void SumInPlace(Span<double> values) => c.AllReduceSum(values, "sync batch-norm statistics");
    }

    /// <summary>Checks the batch against the ranks, hooks sync batch norm into the model and lays out the buckets.</summary>
    internal void Attach(Module model, Optimizer opt, int batchSize)
    {
        if (batchSize < Size) throw new ArgumentException($"--batch {batchSize} is the global batch over all {Size} ranks and must be ≥ {Size}");
        if (SyncBatchNorm)
        {
            var r = new Reducer(Collective);
            foreach (var (_, m) in model.NamedModules())
                if (m is BatchNorm2d bn) bn.StatisticsReducer = r;
        }
        _buckets = new GradientBuckets(Collective, opt.Parameters, BucketBytes);
    }

    /// <summary>This rank's loader settings: shard <see cref="Rank"/> of <see cref="Size"/> of every batch.</summary>
    internal DataLoaderOptions Shard(DataLoaderOptions o) => o with { ShardIndex = Rank, ShardCount = Size };

    /// <summary>The dropout seed of this rank: the run's seed on rank 0 (so one rank is a single process), a mix of it
    /// and the rank elsewhere (masks must differ between ranks).</summary>
    internal int DropoutSeed(int seed) => Rank == 0 ? seed : (int)(Generator.Mix(((ulong)(uint)seed << 20) ^ (ulong)Rank ^ 0x72616e6b00000000UL) & 0x7FFFFFFF);

    /// <summary>
    /// Makes every rank start from rank 0's state: the resume point (rank 0 read it, or null for a new run), the
    /// parameters and buffers, and the optimizer state when resuming.
    /// </summary>
    internal ResumePoint? Start(ResumePoint? at, Module model, Optimizer opt)
    {
        var c = Collective;
        c.Context = "start";
        var header = new double[] { at != null ? 1 : 0, at?.Epoch ?? 0, at?.ScheduleStep ?? 0 };
        c.Broadcast(System.Runtime.InteropServices.MemoryMarshal.AsBytes(header.AsSpan()), 0, "start (resume point)");
        foreach (var (name, p) in model.NamedParameters()) BroadcastTensor(p.Data, name);
        foreach (var (name, b) in model.NamedBuffers()) BroadcastTensor(b.Tensor, name);
        if (header[0] == 0) return null;
        BroadcastOptimizer(opt);
        return IsRoot ? at : new ResumePoint((int)header[1], (long)header[2], Array.Empty<EpochMetrics>());
    }

    private void BroadcastTensor(Tensor t, string name)
    {
        var host = t.ToArray();
        Collective.Broadcast(host, 0, $"broadcast of {name}");
        if (!IsRoot) t.CopyFrom(Tensor.FromArray(host, t.Shape));
    }

    private sealed record TensorInfo(string Key, string DType, int[] Shape);
    private sealed record StateInfo(Dictionary<string, string> Values, List<TensorInfo> Tensors);

    private void BroadcastOptimizer(Optimizer opt)
    {
        var c = Collective;
        OptimizerState? mine = IsRoot ? opt.StateDict() : null;
        byte[] json = mine != null
            ? JsonSerializer.SerializeToUtf8Bytes(new StateInfo(mine.Values, mine.Tensors.Select(kv => new TensorInfo(kv.Key, kv.Value.DType, kv.Value.Tensor.Shape)).ToList()))
            : Array.Empty<byte>();
        var len = new long[] { json.Length };
        c.Broadcast(System.Runtime.InteropServices.MemoryMarshal.AsBytes(len.AsSpan()), 0, "broadcast of the optimizer state");
        if (!IsRoot) json = new byte[len[0]];
        c.Broadcast(json, 0, "broadcast of the optimizer state");
        var info = JsonSerializer.Deserialize<StateInfo>(json) ?? throw new InvalidDataException("optimizer state header is empty");
        var state = new OptimizerState();
        foreach (var (k, v) in info.Values) state.Values[k] = v;
        foreach (var t in info.Tensors)
        {
            var host = mine != null ? mine.Tensors[t.Key].Tensor.ToArray() : new float[Tensor.NumelOf(t.Shape)];
            c.Broadcast(host, 0, $"broadcast of optimizer tensor {t.Key}");
            state.Tensors.Add(t.Key, new NamedTensor(t.DType, Tensor.FromArray(host, t.Shape)));
        }
        if (!IsRoot) opt.LoadStateDict(state);
    }

    /// <summary>Names the step in a timeout message (set before the forward: sync batch norm reduces there).</summary>
    internal void BeginStep(int epoch, int step) => Collective.Context = $"epoch {epoch + 1} step {step}";

    /// <summary>The step totals over all ranks.</summary>
    internal readonly record struct StepTotals(int Samples, float MeanLoss, int Correct, int BadSamples);

    /// <summary>
    /// One step's backward on this rank (<paramref name="loss"/> null when its shard of the batch is empty) with
    /// the gradient buckets reduced as they complete, then the global totals: samples, mean loss, correct top-1 and
    /// the epoch's bad samples so far. Afterwards every rank holds the same averaged gradients.
    /// </summary>
    internal StepTotals Backward(Variable? loss, float localLoss, int samples, int correct, int badSoFar)
    {
        var b = _buckets ?? throw new InvalidOperationException("DataParallel.Attach was not called");
        var c = Collective;
        _totals[0] = samples; _totals[1] = samples > 0 ? (double)localLoss * samples : 0; _totals[2] = correct; _totals[3] = badSoFar;
        // Launched first: the same order of collectives on every rank, and it completes during backward.
        var totals = c.StartAllReduceSum(_totals, "step totals (samples, loss, accuracy)");
        b.Begin(samples);
        if (loss != null) Engine.Backward(loss, null, b.OnGradReady);
        totals.Wait();
        b.Finish(_totals[0]);
        int n = (int)_totals[0];
        return new StepTotals(n, n > 0 ? (float)(_totals[1] / n) : float.NaN, (int)_totals[2], (int)_totals[3]);
    }

    /// <summary>Averages the batch-norm running statistics over the ranks, so that validation and checkpoints see one
    /// model (other buffers, such as index tables, are the same on every rank and stay untouched).</summary>
    internal void AverageBuffers(Module model)
    {
        if (Size == 1) return;
        Collective.Context = "end of epoch";
        foreach (var (name, m) in model.NamedModules())
            if (m is BatchNorm2d bn)
                foreach (var t in new[] { bn.RunningMean, bn.RunningVar })
                {
                    var host = t.ToArray();
                    Collective.AllReduceSum(host.AsSpan(), $"average of the running statistics of {name}");
                    for (int i = 0; i < host.Length; i++) host[i] /= Size;
                    t.CopyFrom(Tensor.FromArray(host, t.Shape));
                }
    }

    /// <summary>This rank's contiguous part of the validation data.</summary>
    internal IVideoDataset ShardOf(IVideoDataset data)
    {
        if (Size == 1) return data;
        var (start, count) = VideoDataLoader.ShardRange(0, data.Count, Rank, Size);
        return new Slice(data, start, count);
    }

    /// <summary>Sums a sharded evaluation over the ranks.</summary>
    internal EvalResult Reduce(EvalResult local)
    {
        if (Size == 1) return local;
        double s = local.Samples;
        var v = new[] { s > 0 ? local.Loss * s : 0, s > 0 ? local.Top1 * s : 0, s > 0 ? local.Top5 * s : 0, s, local.Skipped };
        Collective.Context = "validation";
        Collective.AllReduceSum(v.AsSpan(), "validation totals");
        int n = (int)v[3];
        return n == 0 ? new EvalResult(double.NaN, double.NaN, double.NaN, 0, (int)v[4]) : new EvalResult(v[0] / n, v[1] / n, v[2] / n, n, (int)v[4]);
    }

    /// <summary>Waits until every rank got here (after rank 0 wrote a checkpoint).</summary>
    internal void Barrier(string what) => Collective.Barrier(what);

    private sealed class Slice(IVideoDataset inner, int start, int count) : IVideoDataset
    {
        public int Count => count;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public int GetLabel(int index) => inner.GetLabel(start + index);
        public string GetSource(int index) => inner.GetSource(start + index);
        public VideoSample Load(int index, Random rng, CancellationToken cancellationToken = default) => inner.Load(start + index, rng, cancellationToken);
    }
}
