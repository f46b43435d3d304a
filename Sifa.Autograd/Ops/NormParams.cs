using Sifa.Tensors;

namespace Sifa.Autograd;

// Shared by the normalisation ops (BatchNorm.cs, LayerNorm.cs), whose weight and bias are optional.
public static partial class Ops
{
    // The input list (x, weight?, bias?) without the nulls, and the matching gradient list.
    private static Variable[] Inputs(Variable x, Variable? weight, Variable? bias)
    {
        var l = new List<Variable>(3) { x };
        if (weight != null) l.Add(weight);
        if (bias != null) l.Add(bias);
        return l.ToArray();
    }

    private static Tensor?[] Grads(Variable? weight, Variable? bias, Tensor? dx, Tensor? dw, Tensor? db)
    {
        var l = new List<Tensor?>(3) { dx };
        if (weight != null) l.Add(dw);
        if (bias != null) l.Add(db);
        return l.ToArray();
    }
}
