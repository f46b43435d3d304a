namespace Sifa.Autograd;

// Arithmetic operators and fluent shortcuts on variables; each forwards to the op in Ops/ that holds its backward.
public sealed partial class Variable
{
    /// <summary>Element-wise a + b with broadcasting (<see cref="Ops.Add"/>).</summary>
    public static Variable operator +(Variable a, Variable b) => Ops.Add(a, b);
    /// <summary>Element-wise a − b with broadcasting (<see cref="Ops.Sub"/>).</summary>
    public static Variable operator -(Variable a, Variable b) => Ops.Sub(a, b);
    /// <summary>Element-wise a · b with broadcasting (<see cref="Ops.Mul"/>).</summary>
    public static Variable operator *(Variable a, Variable b) => Ops.Mul(a, b);
    /// <summary>Element-wise a / b with broadcasting (<see cref="Ops.Div"/>).</summary>
    public static Variable operator /(Variable a, Variable b) => Ops.Div(a, b);
    /// <summary>Negation −a (<see cref="Ops.Affine"/> with scale −1).</summary>
    public static Variable operator -(Variable a) => Ops.Affine(a, -1f);
    /// <summary>a + s (<see cref="Ops.Affine"/>).</summary>
    public static Variable operator +(Variable a, float s) => Ops.Affine(a, 1f, s);
    /// <summary>a − s (<see cref="Ops.Affine"/>).</summary>
    public static Variable operator -(Variable a, float s) => Ops.Affine(a, 1f, -s);
    /// <summary>a · s (<see cref="Ops.Affine"/>).</summary>
    public static Variable operator *(Variable a, float s) => Ops.Affine(a, s);
    /// <summary>s · a (<see cref="Ops.Affine"/>).</summary>
    public static Variable operator *(float s, Variable a) => Ops.Affine(a, s);
    /// <summary>a / s (<see cref="Ops.Affine"/> with scale 1/s).</summary>
    public static Variable operator /(Variable a, float s) => Ops.Affine(a, 1f / s);
}
