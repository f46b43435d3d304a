namespace Sifa.Autograd;

// Arithmetic operators and fluent shortcuts on variables; each forwards to the op in Ops/ that holds its backward.
public sealed partial class Variable
{
#pragma warning disable CS1591 // operators mirror Ops.Add/Sub/Mul/Div/Affine
    public static Variable operator +(Variable a, Variable b) => Ops.Add(a, b);
    public static Variable operator -(Variable a, Variable b) => Ops.Sub(a, b);
    public static Variable operator *(Variable a, Variable b) => Ops.Mul(a, b);
    public static Variable operator /(Variable a, Variable b) => Ops.Div(a, b);
    public static Variable operator -(Variable a) => Ops.Affine(a, -1f);
    public static Variable operator +(Variable a, float s) => Ops.Affine(a, 1f, s);
    public static Variable operator -(Variable a, float s) => Ops.Affine(a, 1f, -s);
    public static Variable operator *(Variable a, float s) => Ops.Affine(a, s);
    public static Variable operator *(float s, Variable a) => Ops.Affine(a, s);
    public static Variable operator /(Variable a, float s) => Ops.Affine(a, 1f / s);
#pragma warning restore CS1591
}
