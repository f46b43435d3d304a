using System.Globalization;
using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Nn.Optim;

/// <summary>
/// Adam with decoupled weight decay, PyTorch's semantics (no amsgrad): per parameter with step count t,
/// <c>p *= 1 - lr·wd</c>; <c>m = β1·m + (1-β1)·g</c>; <c>v = β2·v + (1-β2)·g²</c>;
/// <c>p -= (lr / (1-β1^t)) · m / (sqrt(v) / sqrt(1-β2^t) + eps)</c>.
/// </summary>
public sealed class AdamW : Optimizer
{
    private sealed class State
    {
        public required Tensor ExpAvg;
        public required Tensor ExpAvgSq;
        public long Step;
    }

    private readonly Dictionary<int, State> _state = new();

    /// <summary>AdamW over one group of parameters.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">β1.</param>
    /// <param name="beta2">β2.</param>
    /// <param name="eps">ε.</param>
    /// <param name="weightDecay">Decoupled weight decay (PyTorch's default 0.01).</param>
    public AdamW(IEnumerable<Variable> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : this(new[] { new ParamGroup(parameters) }, lr, beta1, beta2, eps, weightDecay) { }

    /// <summary>AdamW over parameter groups (each may set its own lr and weight decay).</summary>
    /// <param name="groups">The groups.</param>
    /// <param name="lr">Default learning rate.</param>
    /// <param name="beta1">β1.</param>
    /// <param name="beta2">β2.</param>
    /// <param name="eps">ε.</param>
    /// <param name="weightDecay">Default decoupled weight decay.</param>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(groups, lr, weightDecay)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"invalid beta1 {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"invalid beta2 {beta2}");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"invalid eps {eps}");
        Beta1 = beta1; Beta2 = beta2; Eps = eps;
    }

    /// <summary>β1.</summary>
    public double Beta1 { get; private set; }
    /// <summary>β2.</summary>
    public double Beta2 { get; private set; }
    /// <summary>ε.</summary>
    public double Eps { get; private set; }

    /// <summary>The first moment of parameter <paramref name="index"/> (null before its first step).</summary>
    /// <param name="index">Index over all groups.</param>
    /// <returns>The moment.</returns>
    public Tensor? ExpAvg(int index) => _state.GetValueOrDefault(index)?.ExpAvg;

    /// <summary>The second moment of parameter <paramref name="index"/> (null before its first step).</summary>
    /// <param name="index">Index over all groups.</param>
    /// <returns>The moment.</returns>
    public Tensor? ExpAvgSq(int index) => _state.GetValueOrDefault(index)?.ExpAvgSq;

    /// <summary>The number of updates parameter <paramref name="index"/> has had.</summary>
    /// <param name="index">Index over all groups.</param>
    /// <returns>The count.</returns>
    public long ParamStep(int index) => _state.GetValueOrDefault(index)?.Step ?? 0;

    /// <inheritdoc/>
    protected override string Kind => "AdamW";

    /// <inheritdoc/>
    protected override void Update(int index, Tensor param, Tensor grad, ParamGroup group)
    {
        if (!_state.TryGetValue(index, out var st))
        {
            st = new State { ExpAvg = Tensor.Zeros(param.Shape, param.Device), ExpAvgSq = Tensor.Zeros(param.Shape, param.Device) };
            _state[index] = st;
        }
        st.Step++;
        param.Backend.AdamWStep(param, grad, st.ExpAvg, st.ExpAvgSq,
            AdamWStepArgs.Create(group.Lr, Beta1, Beta2, Eps, group.WeightDecay, st.Step));
    }

    /// <inheritdoc/>
    protected override void SaveState(OptimizerState state)
    {
        state.Values["beta1"] = OptimizerState.D(Beta1);
        state.Values["beta2"] = OptimizerState.D(Beta2);
        state.Values["eps"] = OptimizerState.D(Eps);
        foreach (var (i, s) in _state.OrderBy(kv => kv.Key))
        {
            var k = i.ToString(CultureInfo.InvariantCulture);
            state.Values[$"state.{k}.step"] = s.Step.ToString(CultureInfo.InvariantCulture);
            state.Tensors.Add($"state.{k}.exp_avg", new("F32", s.ExpAvg));
            state.Tensors.Add($"state.{k}.exp_avg_sq", new("F32", s.ExpAvgSq));
        }
    }

    /// <inheritdoc/>
    protected override void ValidateState(OptimizerState state)
    {
        state.GetDouble("beta1"); state.GetDouble("beta2"); state.GetDouble("eps");
        foreach (var k in state.Tensors.Keys)
            if (!k.EndsWith(".exp_avg", StringComparison.Ordinal) && !k.EndsWith(".exp_avg_sq", StringComparison.Ordinal))
                throw new InvalidDataException($"AdamW state has an unknown tensor '{k}'");
        for (int i = 0; i < Parameters.Count; i++)
        {
            bool a = state.Tensors.ContainsKey($"state.{i}.exp_avg"), b = state.Tensors.ContainsKey($"state.{i}.exp_avg_sq");
            bool s = state.Values.ContainsKey($"state.{i}.step");
            if (a != b || a != s) throw new InvalidDataException($"AdamW state of parameter {i} is incomplete (exp_avg, exp_avg_sq and step go together)");
            if (s) state.GetLong($"state.{i}.step");
        }
    }

    /// <inheritdoc/>
    protected override void RestoreState(OptimizerState state)
    {
        Beta1 = state.GetDouble("beta1");
        Beta2 = state.GetDouble("beta2");
        Eps = state.GetDouble("eps");
        _state.Clear();
        for (int i = 0; i < Parameters.Count; i++)
        {
            var m = CopyStateTensor(state, i, "exp_avg");
            if (m == null) continue;
            _state[i] = new State { ExpAvg = m, ExpAvgSq = CopyStateTensor(state, i, "exp_avg_sq")!, Step = state.GetLong($"state.{i}.step") };
        }
    }
}
