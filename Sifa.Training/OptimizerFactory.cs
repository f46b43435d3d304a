using Sifa.Nn;
using Sifa.Nn.Optim;

namespace Sifa.Training;

/// <summary>Builds the optimizer a <see cref="TrainerOptions.Optimizer"/> name asks for.</summary>
public static class OptimizerFactory
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "adamw", "sgd" };

    /// <summary>Throws unless <paramref name="name"/> is one of <see cref="Names"/>.</summary>
    /// <exception cref="ArgumentException">Unknown optimizer.</exception>
    public static void CheckName(string name)
    {
        if (!Names.Contains(name)) throw new ArgumentException($"unknown optimizer '{name}' ({string.Join(" or ", Names)})");
    }

    /// <summary>
    /// AdamW, or SGD with momentum <see cref="TrainerOptions.Momentum"/> (Nesterov when <see cref="TrainerOptions.Nesterov"/>),
    /// over <paramref name="model"/>'s parameters, decay excluded from normalisation weights, biases and position tables
    /// when <see cref="TrainerOptions.WeightDecayExcludeNormBias"/> (else one group, every parameter decayed).
    /// </summary>
    public static Optimizer Create(Module model, TrainerOptions o)
    {
        CheckName(o.Optimizer);
        var groups = o.WeightDecayExcludeNormBias
            ? ParamGroup.SplitDecay(model, o.WeightDecay)
            : new[] { new ParamGroup(model.Parameters().Where(p => p.RequiresGrad), weightDecay: o.WeightDecay, name: "decay") };
        return o.Optimizer == "sgd"
            ? new SGD(groups, o.Lr, momentum: o.Momentum, weightDecay: o.WeightDecay, nesterov: o.Nesterov && o.Momentum > 0)
            : new AdamW(groups, o.Lr, weightDecay: o.WeightDecay);
    }
}
