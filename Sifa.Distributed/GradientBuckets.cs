using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Distributed;

/// <summary>
/// Averages gradients over the ranks with all-reduces of fixed buckets that start while backward still runs.
/// Buckets hold the parameters in reverse order (the order backward finishes them), up to
/// <see cref="DefaultBucketBytes"/> each; bucket k is launched once all its gradients are final and buckets
/// 0..k−1 were launched, so every rank issues the same collectives in the same order and the sums do not depend
/// on timing. Gradients are staged through pinned host buffers (a GPU rank copies them out and back).
/// <para>Each rank's gradients are those of its mean loss over its n samples; they are weighted by n before the
/// sum and divided by the total N after it, which gives the gradient of the mean loss over all N samples (also when
/// the shards differ in size or one is empty).</para>
/// </summary>
public sealed class GradientBuckets
{
    /// <summary>The default bucket size (25 MiB of float gradients).</summary>
    public const long DefaultBucketBytes = 25L << 20;

    private readonly ICollective _c;
    private readonly Variable[] _params;
    private readonly Dictionary<Variable, int> _index = new(ReferenceEqualityComparer.Instance);
    private readonly int[] _bucketOf, _offset;
    private readonly float[][] _buffers;
    private readonly List<int>[] _members;
    private readonly int[] _waiting;
    private readonly bool[] _filled;
    private readonly IPendingCollective?[] _pending;
    private readonly bool[] _ready;
    private int _launched;
    private float _weight;
    private bool _active;

    /// <summary>Lays out the buckets over <paramref name="parameters"/> (in the optimizer's order).</summary>
    public GradientBuckets(ICollective collective, IReadOnlyList<Variable> parameters, long bucketBytes = DefaultBucketBytes)
    {
        if (bucketBytes < sizeof(float)) throw new ArgumentException($"bucket size must be ≥ 4 bytes, got {bucketBytes}");
        _c = collective;
        _params = parameters.ToArray();
        _bucketOf = new int[_params.Length];
        _offset = new int[_params.Length];
        _ready = new bool[_params.Length];
        var sizes = new List<int>();
        var members = new List<List<int>>();
        long cap = bucketBytes / sizeof(float);
        for (int i = _params.Length - 1; i >= 0; i--)
        {
            if (!_index.TryAdd(_params[i], i)) throw new ArgumentException($"parameter {i} appears twice");
            int n = _params[i].Data.Numel;
            if (sizes.Count == 0 || (sizes[^1] > 0 && sizes[^1] + (long)n > cap)) { sizes.Add(0); members.Add(new List<int>()); }
            _bucketOf[i] = sizes.Count - 1;
            _offset[i] = sizes[^1];
            sizes[^1] += n;
            members[^1].Add(i);
        }
        _buffers = sizes.Select(n => GC.AllocateUninitializedArray<float>(n, pinned: true)).ToArray();
        _members = members.ToArray();
        _waiting = new int[_buffers.Length];
        _filled = new bool[_buffers.Length];
        _pending = new IPendingCollective?[_buffers.Length];
    }

    /// <summary>The number of buckets.</summary>
    public int BucketCount => _buffers.Length;

    /// <summary>Floats all-reduced per step (the parameter count).</summary>
    public long Elements => _buffers.Sum(b => (long)b.Length);

    /// <summary>Prepares a step whose local gradients are those of the mean loss over <paramref name="samples"/> samples.</summary>
    public void Begin(int samples)
    {
        _weight = samples;
        _launched = 0;
        _active = true;
        Array.Clear(_ready);
        for (int b = 0; b < _buffers.Length; b++) { _waiting[b] = _members[b].Count; _filled[b] = false; _pending[b] = null; }
    }

    /// <summary>The backward hook (<see cref="Engine.Backward"/>): copies a final gradient into its bucket and
    /// launches every bucket that is complete and next in order.</summary>
    public void OnGradReady(Variable p)
    {
        if (!_active || !_index.TryGetValue(p, out int i) || _ready[i]) return;
        _ready[i] = true;
        Stage(i);
        int b = _bucketOf[i];
        if (--_waiting[b] == 0) _filled[b] = true;
        LaunchInOrder();
        for (int k = 0; k < _launched; k++) _pending[k]!.Test(); // lets MPI progress the ones in flight
    }

    private void Stage(int i)
    {
        var p = _params[i];
        var dst = _buffers[_bucketOf[i]].AsSpan(_offset[i], p.Data.Numel);
        if (p.Grad == null) { dst.Clear(); return; }
        var g = p.Grad;
        ReadOnlySpan<float> src = g.Device.IsHost && g.IsContiguous ? g.AsSpan() : g.ToArray();
        float w = _weight;
        for (int k = 0; k < dst.Length; k++) dst[k] = src[k] * w;
    }

    private void LaunchInOrder()
    {
        while (_launched < _buffers.Length && _filled[_launched])
        {
            int b = _launched++;
            _pending[b] = _c.StartAllReduceSum(_buffers[b], 0, _buffers[b].Length, $"gradient all-reduce (bucket {b + 1} of {_buffers.Length})");
        }
    }

    /// <summary>
    /// Stages the gradients backward did not reach (zeros), launches the remaining buckets, waits for all of them
    /// and writes the averaged gradients back: Grad = Σ_ranks n·grad / <paramref name="totalSamples"/>. Parameters
    /// without a gradient get one when any rank had one.
    /// </summary>
    public void Finish(double totalSamples)
    {
        if (!_active) throw new InvalidOperationException("Finish without Begin");
        _active = false;
        for (int i = _params.Length - 1; i >= 0; i--)
            if (!_ready[i])
            {
                _ready[i] = true;
                Stage(i);
                int b = _bucketOf[i];
                if (--_waiting[b] == 0) _filled[b] = true;
            }
        LaunchInOrder();
        foreach (var p in _pending) p!.Wait();
        float inv = totalSamples > 0 ? (float)(1.0 / totalSamples) : 0f;
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            var src = _buffers[_bucketOf[i]].AsSpan(_offset[i], p.Data.Numel);
            p.Grad ??= Tensor.Zeros(p.Data.Shape, p.Data.Device);
            if (p.Grad.Device.IsHost && p.Grad.IsContiguous)
            {
                var dst = p.Grad.AsSpan();
                for (int k = 0; k < dst.Length; k++) dst[k] = src[k] * inv;
            }
            else
            {
                var host = new float[src.Length];
                for (int k = 0; k < host.Length; k++) host[k] = src[k] * inv;
                p.Grad.CopyFrom(Tensor.FromArray(host, p.Data.Shape));
            }
        }
    }
}
