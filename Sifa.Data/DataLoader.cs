using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Sifa.Tensors;

namespace Sifa.Data;

/// <summary>What the loader does with a sample whose input is bad (when not <see cref="DataLoaderOptions.Strict"/>).</summary>
public enum BadSamplePolicy
{
    /// <summary>Replace it with the next valid sample of the dataset (index + 1, + 2, ...).</summary>
    Replace,

    /// <summary>Leave it out: the batch gets smaller.</summary>
    Drop,
}

/// <summary>A bad sample the loader met.</summary>
/// <param name="Index">The dataset index.</param>
/// <param name="Path">The offending file or folder.</param>
/// <param name="Reason">What went wrong.</param>
/// <param name="Epoch">The epoch.</param>
public sealed record BadSampleInfo(int Index, string Path, string Reason, int Epoch)
{
    /// <summary>A one-line description.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => $"bad sample {Index} (epoch {Epoch}): {Reason}: {Path}";
}

/// <summary>Options of a <see cref="VideoDataLoader"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Shuffle the sample order every epoch (seeded by <see cref="Seed"/> and the epoch).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>The seed of the order and of every sample's random augmentation.</summary>
    public int Seed { get; init; }

    /// <summary>Background worker threads (0 loads on the consuming thread).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Batches that may be loaded ahead of the consumer (the bounded prefetch queue).</summary>
    public int PrefetchBatches { get; init; } = 2;

    /// <summary>Leave out the last batch when it is smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>Bad input is fatal: the enumeration throws the <see cref="SampleLoadException"/> (with the path).</summary>
    public bool Strict { get; init; }

    /// <summary>What to do with a bad sample when not strict.</summary>
    public BadSamplePolicy BadSamples { get; init; } = BadSamplePolicy.Replace;

    /// <summary>How many following samples to try in place of a bad one before dropping it.</summary>
    public int MaxReplacements { get; init; } = 16;

    /// <summary>Called (from a worker thread) the first time each bad sample is met.</summary>
    public Action<BadSampleInfo>? OnBadSample { get; init; }

    /// <summary>Data-parallel sharding: this process loads only shard <see cref="ShardIndex"/> of
    /// <see cref="ShardCount"/> of every batch (<see cref="VideoDataLoader.ShardRange"/>); the batch count, the epoch's
    /// order and each sample's random state stay those of the whole job.</summary>
    public int ShardIndex { get; init; }

    /// <summary>The number of shards (data-parallel ranks); 1 loads whole batches.</summary>
    public int ShardCount { get; init; } = 1;
}

/// <summary>A batch: clips (N * V, T, 3, H, W), their labels and the dataset indices they came from.</summary>
public sealed class VideoBatch
{
    /// <summary>Creates a batch.</summary>
    /// <param name="clips">The clips, (N * V, T, 3, H, W).</param>
    /// <param name="labels">One label per sample (N).</param>
    /// <param name="indices">The dataset index of each sample.</param>
    /// <param name="viewsPerSample">Views per sample (V); consecutive rows of <paramref name="clips"/> belong to one sample.</param>
    /// <param name="epoch">The epoch.</param>
    /// <param name="batchIndex">The batch's number within the epoch.</param>
    public VideoBatch(Tensor clips, int[] labels, int[] indices, int viewsPerSample, int epoch, int batchIndex)
    {
        Clips = clips;
        Labels = labels;
        Indices = indices;
        ViewsPerSample = viewsPerSample;
        Epoch = epoch;
        BatchIndex = batchIndex;
    }

    /// <summary>The clips, (N * V, T, 3, H, W) float32; (N, T, 3, H, W) with one view per sample.</summary>
    public Tensor Clips { get; }

    /// <summary>One label per sample.</summary>
    public int[] Labels { get; }

    /// <summary>The dataset index of each sample (after any replacement of bad samples).</summary>
    public int[] Indices { get; }

    /// <summary>Views per sample; average scores over each run of this many rows at test time.</summary>
    public int ViewsPerSample { get; }

    /// <summary>Number of samples (N).</summary>
    public int Count => Labels.Length;

    /// <summary>The epoch.</summary>
    public int Epoch { get; }

    /// <summary>The batch's number within the epoch.</summary>
    public int BatchIndex { get; }
}

/// <summary>
/// Loads batches with background worker threads and a bounded prefetch queue. The sample order of an
/// epoch depends only on (seed, epoch), and each sample's random state on (seed, epoch, index), so the
/// batches are the same whatever the worker count or timing. Bad samples are skipped and counted (or
/// fatal in strict mode); a worker never crashes the process: its exceptions surface on the consumer.
/// </summary>
public sealed class VideoDataLoader : IEnumerable<VideoBatch>
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, BadSampleInfo> _knownBad = new();
    private long _loaded, _bad, _replaced, _dropped;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="options">Loader settings (defaults when null).</param>
    public VideoDataLoader(IVideoDataset dataset, DataLoaderOptions? options = null)
    {
        Dataset = dataset;
        Options = options ?? new DataLoaderOptions();
        if (Options.BatchSize <= 0) throw new ArgumentException("BatchSize must be positive");
        if (Options.Workers < 0) throw new ArgumentException("Workers cannot be negative");
        if (Options.PrefetchBatches <= 0) throw new ArgumentException("PrefetchBatches must be positive");
        if (Options.MaxReplacements < 0) throw new ArgumentException("MaxReplacements cannot be negative");
        if (Options.ShardCount < 1 || (uint)Options.ShardIndex >= (uint)Options.ShardCount)
            throw new ArgumentException($"shard {Options.ShardIndex} of {Options.ShardCount} does not exist");
    }

    /// <summary>
    /// The part of a batch of <paramref name="count"/> samples (from epoch position <paramref name="start"/>) that
    /// shard <paramref name="shard"/> of <paramref name="shards"/> loads: a contiguous run, sizes differing by at most
    /// one, empty when the batch has fewer samples than shards. The shards of a batch are disjoint and cover it in order.
    /// </summary>
    /// <returns>The first epoch position and the number of samples.</returns>
    public static (int Start, int Count) ShardRange(int start, int count, int shard, int shards)
    {
        int a = (int)((long)count * shard / shards), b = (int)((long)count * (shard + 1) / shards);
        return (start + a, b - a);
    }

    /// <summary>The dataset.</summary>
    public IVideoDataset Dataset { get; }

    /// <summary>The settings.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>The epoch enumerated by <see cref="GetEnumerator"/> / <see cref="GetAsyncEnumerator"/> (set it before each epoch).</summary>
    public int Epoch { get; set; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => Options.DropLast ? Dataset.Count / Options.BatchSize : (Dataset.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Samples loaded successfully (all epochs).</summary>
    public long SamplesLoaded => Interlocked.Read(ref _loaded);

    /// <summary>Bad samples met (each occurrence counts, all epochs).</summary>
    public long BadSamples => Interlocked.Read(ref _bad);

    /// <summary>Bad samples replaced by a following valid one.</summary>
    public long SamplesReplaced => Interlocked.Read(ref _replaced);

    /// <summary>Bad samples left out of their batch.</summary>
    public long SamplesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Every distinct bad sample met so far (by dataset index).</summary>
    public IReadOnlyCollection<BadSampleInfo> BadSampleLog => _knownBad.Values.OrderBy(b => b.Index).ToArray();

    /// <summary>The sample order of an epoch: a seeded permutation (identity without shuffling).</summary>
    /// <param name="count">Dataset size.</param>
    /// <param name="shuffle">Shuffle or not.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="epoch">The epoch.</param>
    /// <returns>Dataset indices in load order.</returns>
    public static int[] EpochOrder(int count, bool shuffle, int seed, int epoch)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        if (shuffle)
        {
            var rng = new Random(SeedMix.Combine(seed, epoch, -1, 0x5eed));
            for (int i = count - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        return order;
    }

    /// <summary>The random state of one sample: a function of (seed, epoch, index) only.</summary>
    /// <param name="seed">The seed.</param>
    /// <param name="epoch">The epoch.</param>
    /// <param name="index">The dataset index.</param>
    /// <returns>A fresh random source.</returns>
    public static Random SampleRandom(int seed, int epoch, int index) => new(SeedMix.Combine(seed, epoch, index, 0x5a3b));

    /// <inheritdoc />
    public IEnumerator<VideoBatch> GetEnumerator() => GetEpoch(Epoch).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// The batches of epoch <see cref="Epoch"/>, asynchronously, so that <c>await foreach (var b in loader)</c> works.
    /// (The loader implements <see cref="IEnumerable{T}"/> only, which keeps LINQ calls unambiguous;
    /// <see cref="GetEpochAsync"/> gives an <see cref="IAsyncEnumerable{T}"/>.)
    /// </summary>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The async enumerator.</returns>
    public IAsyncEnumerator<VideoBatch> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        GetEpochAsync(Epoch, cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <summary>The batches of one epoch. Stopping early (break/dispose) cancels the workers and kills their decoders.</summary>
    /// <param name="epoch">The epoch.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The batches, in order.</returns>
    public IEnumerable<VideoBatch> GetEpoch(int epoch, CancellationToken cancellationToken = default)
    {
        foreach (var batch in GetEpochBatches(epoch, cancellationToken))
            if (batch != null) yield return batch;
    }

    /// <summary>One entry per batch of the epoch (<see cref="BatchesPerEpoch"/>), null where no sample of this
    /// shard's part of it loaded (or the part is empty): data-parallel ranks stay in step over such batches.</summary>
    /// <param name="epoch">The epoch.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The batches, in order.</returns>
    public IEnumerable<VideoBatch?> GetEpochBatches(int epoch, CancellationToken cancellationToken = default)
    {
        using var run = new EpochRun(this, epoch, cancellationToken);
        for (int b = 0; b < run.BatchCount; b++) yield return run.Take(b);
    }

    /// <summary>The batches of one epoch, asynchronously.</summary>
    /// <param name="epoch">The epoch.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The batches, in order.</returns>
    public async IAsyncEnumerable<VideoBatch> GetEpochAsync(int epoch, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var run = new EpochRun(this, epoch, cancellationToken);
        for (int b = 0; b < run.BatchCount; b++)
        {
            var batch = await run.TakeAsync(b).ConfigureAwait(false);
            if (batch != null) yield return batch;
        }
    }

    /// <summary>Loads one sample under the bad-sample policy: the sample, or null when dropped.</summary>
    private (VideoSample Sample, int Index)? LoadSample(int epoch, int index, CancellationToken ct)
    {
        int idx = index;
        for (int attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            SampleLoadException? bad = null;
            if (!Options.Strict && _knownBad.ContainsKey(idx))
            {
                Interlocked.Increment(ref _bad);
            }
            else
            {
                try
                {
                    var s = Dataset.Load(idx, SampleRandom(Options.Seed, epoch, idx), ct);
                    Interlocked.Increment(ref _loaded);
                    if (attempt > 0) Interlocked.Increment(ref _replaced);
                    return (s, idx);
                }
                catch (SampleLoadException e)
                {
                    if (e.Index < 0) e.Index = idx;
                    if (Options.Strict) throw;
                    bad = e;
                }
                Interlocked.Increment(ref _bad);
                var info = new BadSampleInfo(idx, bad.Path, bad.Reason, epoch);
                if (_knownBad.TryAdd(idx, info)) Options.OnBadSample?.Invoke(info);
            }
            if (Options.BadSamples == BadSamplePolicy.Drop || attempt >= Options.MaxReplacements || Dataset.Count <= 1)
            {
                Interlocked.Increment(ref _dropped);
                return null;
            }
            idx = (idx + 1) % Dataset.Count;
        }
    }

    /// <summary>Stacks samples into a batch.</summary>
    private static VideoBatch? Collate(List<(VideoSample Sample, int Index)> items, int epoch, int batchIndex)
    {
        if (items.Count == 0) return null;
        var first = items[0].Sample;
        int per = first.Data.Length;
        foreach (var (s, i) in items)
            if (s.Views != first.Views || s.Frames != first.Frames || s.Height != first.Height || s.Width != first.Width)
                throw new InvalidOperationException(
                    $"sample {i} has shape ({s.Views}, {s.Frames}, 3, {s.Height}, {s.Width}) but sample {items[0].Index} has ({first.Views}, {first.Frames}, 3, {first.Height}, {first.Width})");
        var data = GC.AllocateUninitializedArray<float>(checked(per * items.Count));
        for (int k = 0; k < items.Count; k++) Array.Copy(items[k].Sample.Data, 0, data, (long)k * per, per);
        var clips = Tensor.FromArray(data, items.Count * first.Views, first.Frames, 3, first.Height, first.Width);
        return new VideoBatch(clips, items.Select(x => x.Sample.Label).ToArray(), items.Select(x => x.Index).ToArray(), first.Views, epoch, batchIndex);
    }

    /// <summary>One epoch's workers, prefetch window and per-batch results.</summary>
    private sealed class EpochRun : IDisposable
    {
        private readonly VideoDataLoader _loader;
        private readonly int _epoch, _batchSize, _prefetch;
        private readonly int[] _order;
        private readonly int _total;
        // This shard's epoch positions, batch after batch: batch b holds _positions[_start[b] .. _start[b + 1]).
        private readonly int[] _positions, _start, _batchOf;
        private readonly Slot?[] _slots;
        private readonly CancellationTokenSource _cts;
        private readonly Thread[] _threads;
        private readonly object _gate = new();
        private int _next, _consumed;

        private sealed class Slot
        {
            public required (VideoSample, int)?[] Items;
            public int Remaining;
            public Exception? Error;
            public readonly TaskCompletionSource<VideoBatch?> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public EpochRun(VideoDataLoader loader, int epoch, CancellationToken ct)
        {
            _loader = loader;
            _epoch = epoch;
            var o = loader.Options;
            _batchSize = o.BatchSize;
            _prefetch = o.PrefetchBatches;
            _order = EpochOrder(loader.Dataset.Count, o.Shuffle, o.Seed, epoch);
            BatchCount = loader.BatchesPerEpoch;
            int epochSamples = Math.Min(_order.Length, BatchCount * _batchSize);
            _slots = new Slot?[BatchCount];
            _start = new int[BatchCount + 1];
            var positions = new List<int>(epochSamples / o.ShardCount + BatchCount);
            var batchOf = new List<int>(positions.Capacity);
            for (int b = 0; b < BatchCount; b++)
            {
                var (first, n) = ShardRange(b * _batchSize, Math.Min(_batchSize, epochSamples - b * _batchSize), o.ShardIndex, o.ShardCount);
                _start[b] = positions.Count;
                for (int k = 0; k < n; k++) { positions.Add(first + k); batchOf.Add(b); }
                _slots[b] = new Slot { Items = new (VideoSample, int)?[n], Remaining = n };
                if (n == 0) _slots[b]!.Done.TrySetResult(null);
            }
            _start[BatchCount] = positions.Count;
            _positions = positions.ToArray();
            _batchOf = batchOf.ToArray();
            _total = _positions.Length;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _threads = new Thread[o.Workers];
            for (int w = 0; w < _threads.Length; w++)
            {
                _threads[w] = new Thread(WorkerLoop) { IsBackground = true, Name = $"sifa-data-{w}" };
                _threads[w].Start();
            }
        }

        public int BatchCount { get; }

        private void WorkerLoop()
        {
            var ct = _cts.Token;
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    int pos = Interlocked.Increment(ref _next) - 1;
                    if (pos >= _total) return;
                    int b = _batchOf[pos];
                    lock (_gate)
                    {
                        while (b >= _consumed + _prefetch && !ct.IsCancellationRequested) Monitor.Wait(_gate, 200);
                    }
                    if (ct.IsCancellationRequested) return;
                    LoadPosition(pos, ct);
                }
            }
            catch (Exception e)
            {
                // Never let a worker thread die with an exception: hand it to the consumer of every waiting batch.
                foreach (var s in _slots) s?.Done.TrySetException(e);
            }
        }

        private void LoadPosition(int pos, CancellationToken ct)
        {
            int b = _batchOf[pos];
            var slot = _slots[b]!;
            try
            {
                slot.Items[pos - _start[b]] = _loader.LoadSample(_epoch, _order[_positions[pos]], ct);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref slot.Error, e, null);
                if (e is not OperationCanceledException) _cts.Cancel();   // fatal: stop the other workers too
            }
            if (Interlocked.Decrement(ref slot.Remaining) != 0) return;
            if (slot.Error != null)
            {
                slot.Done.TrySetException(slot.Error);
                return;
            }
            try
            {
                var items = new List<(VideoSample, int)>(slot.Items.Length);
                foreach (var it in slot.Items)
                    if (it.HasValue) items.Add(it.Value);
                slot.Done.TrySetResult(Collate(items, _epoch, b));
            }
            catch (Exception e)
            {
                slot.Done.TrySetException(e);
            }
        }

        private void Release(int b)
        {
            _slots[b] = null;
            lock (_gate)
            {
                _consumed = b + 1;
                Monitor.PulseAll(_gate);
            }
        }

        public VideoBatch? Take(int b)
        {
            var slot = _slots[b]!;
            if (_cts.IsCancellationRequested) ThrowFailure(FirstError() ?? new OperationCanceledException(_cts.Token));
            if (_threads.Length == 0)
                for (int pos = _start[b]; pos < _start[b + 1]; pos++) LoadPosition(pos, _cts.Token);
            try
            {
                slot.Done.Task.Wait(_cts.Token);
            }
            catch (OperationCanceledException) { }
            catch (AggregateException) { }
            return Finish(b, slot);
        }

        public async Task<VideoBatch?> TakeAsync(int b)
        {
            var slot = _slots[b]!;
            if (_cts.IsCancellationRequested) ThrowFailure(FirstError() ?? new OperationCanceledException(_cts.Token));
            if (_threads.Length == 0)
                for (int pos = _start[b]; pos < _start[b + 1]; pos++) LoadPosition(pos, _cts.Token);
            try
            {
                await slot.Done.Task.WaitAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Inspected below: the batch's own failure, a failure elsewhere, or cancellation.
            }
            return Finish(b, slot);
        }

        private VideoBatch? Finish(int b, Slot slot)
        {
            if (!slot.Done.Task.IsCompleted) ThrowFailure(FirstError() ?? new OperationCanceledException(_cts.Token));
            if (slot.Done.Task.IsFaulted) ThrowFailure(slot.Done.Task.Exception!.InnerException!);
            if (slot.Done.Task.IsCanceled) ThrowFailure(FirstError() ?? new OperationCanceledException(_cts.Token));
            var batch = slot.Done.Task.Result;
            Release(b);
            return batch;
        }

        /// <summary>The first fatal error of any batch (a failure elsewhere cancels everything).</summary>
        private Exception? FirstError()
        {
            foreach (var s in _slots)
                if (s?.Error is { } e && e is not OperationCanceledException) return e;
            return null;
        }

        private void ThrowFailure(Exception e)
        {
            if (e is OperationCanceledException && FirstError() is { } real) e = real;
            if (e is SampleLoadException or FfmpegNotFoundException or OperationCanceledException)
                ExceptionDispatchInfo.Capture(e).Throw();
            throw new DataLoaderException($"data loader worker failed (epoch {_epoch}): {e.Message}", e);
        }

        public void Dispose()
        {
            _cts.Cancel();
            lock (_gate) Monitor.PulseAll(_gate);
            foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(30));
            _cts.Dispose();
        }
    }
}

/// <summary>Deterministic seed derivation from (a, b, c, salt) by chained <see cref="Generator.Mix"/>.</summary>
internal static class SeedMix
{
    public static ulong Combine64(long a, long b, long c, long salt)
    {
        ulong h = Generator.Mix((ulong)salt);
        h = Generator.Mix(h ^ (ulong)a);
        h = Generator.Mix(h ^ (ulong)b);
        h = Generator.Mix(h ^ (ulong)c);
        return h;
    }

    public static int Combine(long a, long b, long c, long salt) => (int)(Combine64(a, b, c, salt) & 0x7FFFFFFF);
}
