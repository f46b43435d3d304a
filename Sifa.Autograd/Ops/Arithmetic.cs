using Sifa.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Autograd;

/// <summary>
/// Differentiable ops. Each op's forward and its backward rule sit together in one method; the files split
/// the ops by family (arithmetic, unary, shape, linear algebra, convolution, normalisation, SIFA, ...).
/// </summary>
public static partial class Ops
{
    /// <summary>Sums a broadcast gradient back to the shape of the input that was broadcast.</summary>
    /// <param name="g">Gradient of the broadcast result.</param>
    /// <param name="shape">The input's shape.</param>
    /// <returns>The gradient for the input.</returns>
    public static Tensor SumTo(Tensor g, int[] shape)
    {
        if (g.Shape.AsSpan().SequenceEqual(shape)) return g;
        int lead = g.Rank - shape.Length;
        var dims = new List<int>();
        for (int d = 0; d < g.Rank; d++)
            if (d < lead || (shape[d - lead] == 1 && g.Shape[d] != 1)) dims.Add(d);
        var s = dims.Count > 0 ? g.Sum(dims.ToArray(), keepDim: true) : g;
        return s.Reshape(shape);
    }

    /// <summary>a + b (broadcasting).</summary>
    /// <param name="a">First.</param>
    /// <param name="b">Second.</param>
    /// <returns>The sum.</returns>
    public static Variable Add(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape; // the rule keeps only the shapes, not the inputs' values
        return Variable.FromOp(a.Data + b.Data, "add", new[] { a, b }, g => new[] { SumTo(g, sa), SumTo(g, sb) });
    }

    /// <summary>
    /// a += b in place (b broadcast to a's shape), like PyTorch's <c>out += identity</c> in a ResNet block: no new
    /// activation-sized array. Backward as <see cref="Add"/>. <paramref name="a"/> must be a dense op result whose old
    /// value nothing reads afterwards: no backward rule saved it (e.g. a batch-norm or linear output) and no later op uses it.
    /// </summary>
    /// <param name="a">Overwritten with the sum.</param>
    /// <param name="b">Added.</param>
    /// <returns>The sum (sharing a's storage).</returns>
    public static Variable AddInPlace(Variable a, Variable b)
    {
        CheckInPlace(a, "add_");
        int[] sb = b.Shape;
        var y = a.Data.Backend.Zip(a.Data, b.Data, new AddOp(), a.Data);
        return Variable.FromOp(y, "add_", new[] { a, b }, g => new[] { g, SumTo(g, sb) });
    }

    // PyTorch refuses the same cases: an in-place write to a leaf that requires grad would change a parameter.
    private static void CheckInPlace(Variable x, string op)
    {
        if (x.IsLeaf && x.RequiresGrad)
            throw new InvalidOperationException($"{op}: in-place operation on a leaf that requires grad ({x.Name ?? Tensor.Fmt(x.Shape)})");
        if (!x.Data.IsContiguous)
            throw new ArgumentException($"{op}: in-place operation needs a dense tensor, got a view of shape {Tensor.Fmt(x.Shape)}");
    }

    /// <summary>a - b (broadcasting).</summary>
    /// <param name="a">First.</param>
    /// <param name="b">Second.</param>
    /// <returns>The difference.</returns>
    public static Variable Sub(Variable a, Variable b)
    {
        int[] sa = a.Shape, sb = b.Shape;
        return Variable.FromOp(a.Data - b.Data, "sub", new[] { a, b }, g => new[] { SumTo(g, sa), SumTo(-g, sb) });
    }

    /// <summary>a · b element-wise (broadcasting). d/da = g·b, d/db = g·a.</summary>
    /// <param name="a">First.</param>
    /// <param name="b">Second.</param>
    /// <returns>The product.</returns>
    public static Variable Mul(Variable a, Variable b)
    {
        Tensor av = a.Data, bv = b.Data;
        return Variable.FromOp(av * bv, "mul", new[] { a, b }, g => new[]
        {
            a.RequiresGrad ? SumTo(g * bv, a.Shape) : null,
            b.RequiresGrad ? SumTo(g * av, b.Shape) : null,
        });
    }

    /// <summary>a / b element-wise (broadcasting). d/da = g/b, d/db = -g·a/b².</summary>
    /// <param name="a">Numerator.</param>
    /// <param name="b">Denominator.</param>
    /// <returns>The quotient.</returns>
    public static Variable Div(Variable a, Variable b)
    {
        Tensor av = a.Data, bv = b.Data;
        var y = av / bv;
        return Variable.FromOp(y, "div", new[] { a, b }, g => new[]
        {
            a.RequiresGrad ? SumTo(g / bv, a.Shape) : null,
            b.RequiresGrad ? SumTo(-(g * y) / bv, b.Shape) : null,
        });
    }

    /// <summary>x·scale + shift with constants.</summary>
    /// <param name="x">Input.</param>
    /// <param name="scale">Scale.</param>
    /// <param name="shift">Shift.</param>
    /// <returns>The result.</returns>
    public static Variable Affine(Variable x, float scale, float shift = 0f) =>
        Variable.FromOp(x.Data.Map(new AffineOp(scale, shift)), "affine", new[] { x }, g => new[] { g * scale });

}
