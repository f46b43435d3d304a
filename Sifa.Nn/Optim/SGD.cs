using System.Globalization;
using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Nn.Optim;

/// <summary>
/// Stochastic gradient descent with PyTorch's semantics: <c>g += wd·p</c>; with momentum μ, <c>buf = g</c> on a
/// parameter's first step and <c>buf = μ·buf + (1-dampening)·g</c> afterwards, then <c>g = buf</c> (or
/// <c>g + μ·buf</c> with Nesterov); <c>p -= lr·g</c>.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly Dictionary<int, Tensor> _momentum = new();

    /// <summary>SGD over one group of parameters.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum μ (0 for plain SGD).</param>
    /// <param name="dampening">Dampening of the gradient in the momentum buffer.</param>
    /// <param name="weightDecay">L2 weight decay.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and no dampening).</param>
    public SGD(IEnumerable<Variable> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : this(new[] { new ParamGroup(parameters) }, lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>SGD over parameter groups (each may set its own lr and weight decay).</summary>
    /// <param name="groups">The groups.</param>
    /// <param name="lr">Default learning rate.</param>
    /// <param name="momentum">Momentum μ (0 for plain SGD).</param>
    /// <param name="dampening">Dampening of the gradient in the momentum buffer.</param>
    /// <param name="weightDecay">Default L2 weight decay.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0 and no dampening).</param>
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(groups, lr, weightDecay)
    {
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(momentum), $"invalid momentum {momentum}");
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("Nesterov momentum needs a positive momentum and zero dampening");
        Momentum = momentum; Dampening = dampening; Nesterov = nesterov;
    }

    /// <summary>Momentum μ.</summary>
    public double Momentum { get; private set; }
    /// <summary>Dampening.</summary>
    public double Dampening { get; private set; }
    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; private set; }

    /// <summary>The momentum buffer of parameter <paramref name="index"/> (null before its first step or without momentum).</summary>
    /// <param name="index">Index over all groups.</param>
    /// <returns>The buffer.</returns>
    public Tensor? MomentumBuffer(int index) => _momentum.GetValueOrDefault(index);

    /// <inheritdoc/>
    protected override string Kind => "SGD";

    /// <inheritdoc/>
    protected override void Update(int index, Tensor param, Tensor grad, ParamGroup group)
    {
        bool first = !_momentum.TryGetValue(index, out var buf);
        var args = SgdStepArgs.Create(group.Lr, Momentum, Dampening, group.WeightDecay, Nesterov, first);
        if (args.Momentum != 0f && first)
        {
            buf = Tensor.Empty(param.Shape, param.Device); // the first step writes it whole (buf = d)
            _momentum[index] = buf;
        }
        param.Backend.SgdStep(param, grad, args.Momentum != 0f ? buf : null, args);
    }

    /// <inheritdoc/>
    protected override void SaveState(OptimizerState state)
    {
        state.Values["momentum"] = OptimizerState.D(Momentum);
        state.Values["dampening"] = OptimizerState.D(Dampening);
        state.Values["nesterov"] = Nesterov ? "true" : "false";
        foreach (var (i, b) in _momentum.OrderBy(kv => kv.Key))
            state.Tensors.Add($"state.{i.ToString(CultureInfo.InvariantCulture)}.momentum_buffer", new("F32", b));
    }

    /// <inheritdoc/>
    protected override void ValidateState(OptimizerState state)
    {
        state.GetDouble("momentum"); state.GetDouble("dampening");
        if (!bool.TryParse(state.Get("nesterov"), out _)) throw new InvalidDataException("optimizer state value 'nesterov' is not a boolean");
        foreach (var k in state.Tensors.Keys)
            if (!k.EndsWith(".momentum_buffer", StringComparison.Ordinal)) throw new InvalidDataException($"SGD state has an unknown tensor '{k}'");
    }

    /// <inheritdoc/>
    protected override void RestoreState(OptimizerState state)
    {
        Momentum = state.GetDouble("momentum");
        Dampening = state.GetDouble("dampening");
        Nesterov = bool.Parse(state.Get("nesterov"));
        _momentum.Clear();
        for (int i = 0; i < Parameters.Count; i++)
            if (CopyStateTensor(state, i, "momentum_buffer") is { } b) _momentum[i] = b;
    }
}
