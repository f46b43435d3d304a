using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>
/// Gradient accumulation (the official SIFA <c>iter_size</c>): the gradients of several batches are summed, each weighted
/// by its batch size, and one optimizer step takes their size-weighted mean: the gradient of the mean loss over all
/// their clips, as one batch that many times larger would give (exactly so, up to float rounding, for a model without
/// batch norm: batch statistics still see one batch at a time). A step's activations and gradients live in that step's
/// <see cref="TensorScope"/>, so the sums are kept in tensors created outside it.
/// </summary>
internal sealed class GradAccumulator
{
    private readonly IReadOnlyList<Variable> _params;
    private readonly Tensor?[] _sums;
    private readonly bool[] _fresh;
    private long _samples;

    /// <summary>Creates an accumulator over the optimizer's parameters.</summary>
    public GradAccumulator(IReadOnlyList<Variable> parameters)
    {
        _params = parameters;
        _sums = new Tensor?[parameters.Count];
        _fresh = new bool[parameters.Count];
    }

    /// <summary>Batches folded in since the last <see cref="Finish"/>.</summary>
    public int Batches { get; private set; }

    /// <summary>A non-finite loss among the pending batches (NaN when all were finite).</summary>
    public float NonFiniteLoss { get; private set; } = float.NaN;

    /// <summary>Whether any pending batch had a non-finite loss.</summary>
    public bool SawNonFiniteLoss { get; private set; }

    /// <summary>Folds the gradients of one batch (left by its backward pass in each parameter's Grad) into the sums and
    /// clears them.</summary>
    public void Add(int batchSize, float loss)
    {
        if (!float.IsFinite(loss) && !SawNonFiniteLoss) { SawNonFiniteLoss = true; NonFiniteLoss = loss; }
        for (int i = 0; i < _params.Count; i++)
        {
            var g = _params[i].Grad;
            if (g == null) continue;
            if (_sums[i] == null)
            {
                using (TensorScope.Suspend()) _sums[i] = Tensor.Zeros(g.Shape, g.Device);
                _fresh[i] = true;
            }
            var weighted = g * (float)batchSize;
            if (_fresh[i]) _sums[i]!.CopyFrom(weighted);
            else _sums[i]!.CopyFrom(_sums[i]! + weighted);
            _fresh[i] = false;
            _params[i].Grad = null;
        }
        _samples += batchSize;
        Batches++;
    }

    /// <summary>Sets every parameter's gradient to the size-weighted mean of the pending batches' gradients (tensors of
    /// the current scope) and starts a new group.</summary>
    public void Finish()
    {
        if (_samples == 0) throw new InvalidOperationException("no batch to finish");
        float inv = (float)(1.0 / _samples);
        for (int i = 0; i < _params.Count; i++)
        {
            _params[i].Grad = _sums[i] != null && !_fresh[i] ? _sums[i]! * inv : null;
            _fresh[i] = true;
        }
        _samples = 0;
        Batches = 0;
        SawNonFiniteLoss = false;
        NonFiniteLoss = float.NaN;
    }
}
