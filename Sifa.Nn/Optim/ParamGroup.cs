using Sifa.Autograd;

namespace Sifa.Nn.Optim;

/// <summary>
/// A set of parameters sharing a learning rate and weight decay (PyTorch's param group). Settings left unset take
/// the optimizer's defaults when the group is passed to an optimizer.
/// </summary>
public sealed class ParamGroup
{
    private double? _lr, _weightDecay;
    private double _initialLr = double.NaN;

    /// <summary>Creates a group.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="lr">Its learning rate, or null for the optimizer's.</param>
    /// <param name="weightDecay">Its weight decay, or null for the optimizer's.</param>
    /// <param name="name">A label (checkpoints and logs).</param>
    public ParamGroup(IEnumerable<Variable> parameters, double? lr = null, double? weightDecay = null, string name = "")
    {
        Parameters = parameters.ToList();
        _lr = lr;
        _weightDecay = weightDecay;
        Name = name;
    }

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Variable> Parameters { get; }

    /// <summary>A label.</summary>
    public string Name { get; }

    /// <summary>The current learning rate (schedulers set it; NaN before the group is given to an optimizer when unset).</summary>
    public double Lr
    {
        get => _lr ?? double.NaN;
        set => _lr = value;
    }

    /// <summary>The weight decay (NaN before the group is given to an optimizer when unset).</summary>
    public double WeightDecay
    {
        get => _weightDecay ?? double.NaN;
        set => _weightDecay = value;
    }

    /// <summary>The learning rate the group started with: the base that schedulers scale (PyTorch's <c>initial_lr</c>).</summary>
    public double InitialLr
    {
        get => _initialLr;
        set => _initialLr = value;
    }

    internal void Resolve(double lr, double weightDecay)
    {
        _lr ??= lr;
        _weightDecay ??= weightDecay;
        if (double.IsNaN(_initialLr)) _initialLr = _lr.Value;
    }

    /// <summary>The parameter names that <see cref="SplitDecay"/> always keeps out of weight decay (the official Swin's
    /// <c>no_weight_decay</c> lists).</summary>
    public static readonly IReadOnlyList<string> DefaultNoDecayNames = new[] { "relative_position_bias_table", "absolute_pos_embed" };

    /// <summary>
    /// Splits a module's trainable parameters into a <c>decay</c> group (weight decay <paramref name="weightDecay"/>)
    /// and a <c>no_decay</c> group (weight decay 0): the latter holds every parameter of rank ≤ 1 (normalisation weights
    /// and biases), every parameter whose name ends in <c>bias</c>, and those whose last name part is in
    /// <see cref="DefaultNoDecayNames"/> or <paramref name="extraNoDecay"/>. Frozen parameters (RequiresGrad false) are left out.
    /// Both groups are returned (possibly empty) in that order, so group indices are stable.
    /// </summary>
    /// <param name="module">The module.</param>
    /// <param name="weightDecay">Weight decay of the decay group.</param>
    /// <param name="extraNoDecay">More parameter names (last key part) to exclude from decay.</param>
    /// <returns>The decay and no-decay groups.</returns>
    public static ParamGroup[] SplitDecay(Module module, double weightDecay, params string[] extraNoDecay)
    {
        var names = new HashSet<string>(DefaultNoDecayNames.Concat(extraNoDecay));
        var decay = new List<Variable>();
        var noDecay = new List<Variable>();
        foreach (var (key, p) in module.NamedParameters())
        {
            if (!p.RequiresGrad) continue;
            var last = key[(key.LastIndexOf('.') + 1)..];
            bool exclude = p.Rank <= 1 || last.EndsWith("bias", StringComparison.Ordinal) || names.Contains(last);
            (exclude ? noDecay : decay).Add(p);
        }
        return new[]
        {
            new ParamGroup(decay, weightDecay: weightDecay, name: "decay"),
            new ParamGroup(noDecay, weightDecay: 0.0, name: "no_decay"),
        };
    }
}
