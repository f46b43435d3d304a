using Sifa.Tensors;

namespace Sifa.Autograd;

public static partial class Ops
{
    /// <summary>Reshape (a view when possible); backward reshapes g back.</summary>
    /// <param name="x">Input.</param>
    /// <param name="shape">New shape (one -1 allowed).</param>
    /// <returns>The reshaped value.</returns>
    public static Variable Reshape(Variable x, params int[] shape)
    {
        var old = x.Shape;
        return Variable.FromOp(x.Data.Reshape(shape), "reshape", new[] { x }, g => new[] { g.Reshape(old) });
    }

    /// <summary>Permute dims; backward applies the inverse permutation.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dims">New order.</param>
    /// <returns>The view.</returns>
    public static Variable Permute(Variable x, params int[] dims)
    {
        var inv = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) inv[x.Data.NormDim(dims[i])] = i;
        return Variable.FromOp(x.Data.Permute(dims), "permute", new[] { x }, g => new[] { g.Permute(inv) });
    }

    /// <summary>Swap two dims.</summary>
    /// <param name="x">Input.</param>
    /// <param name="d0">First dim.</param>
    /// <param name="d1">Second dim.</param>
    /// <returns>The view.</returns>
    public static Variable Transpose(Variable x, int d0, int d1) =>
        Variable.FromOp(x.Data.Transpose(d0, d1), "transpose", new[] { x }, g => new[] { g.Transpose(d0, d1) });

    /// <summary>A contiguous copy (identity maths; makes later kernels see a dense layout).</summary>
    /// <param name="x">Input.</param>
    /// <returns>The dense value.</returns>
    public static Variable Contiguous(Variable x) => x.Data.IsContiguous ? x :
        Variable.FromOp(x.Data.Contiguous(), "contiguous", new[] { x }, g => new[] { g });

    /// <summary><c>start::step</c> along a dim; backward scatters g into zeros.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="start">First index.</param>
    /// <param name="step">Step.</param>
    /// <returns>The view.</returns>
    public static Variable Slice(Variable x, int dim, int start, int step)
    {
        var shape = x.Shape;
        return Variable.FromOp(x.Data.Slice(dim, start, step), "slice", new[] { x }, g =>
        {
            var z = Tensor.Zeros(shape, g.Device);
            z.Slice(dim, start, step).CopyFrom(g);
            return new[] { z };
        });
    }

    /// <summary>Elements [start, start+length) of a dim; backward pads g with zeros.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="start">First index.</param>
    /// <param name="length">Count.</param>
    /// <returns>The view.</returns>
    public static Variable Narrow(Variable x, int dim, int start, int length)
    {
        var shape = x.Shape;
        return Variable.FromOp(x.Data.Narrow(dim, start, length), "narrow", new[] { x }, g =>
        {
            var z = Tensor.Zeros(shape, g.Device);
            z.Narrow(dim, start, length).CopyFrom(g);
            return new[] { z };
        });
    }

    /// <summary>Broadcast to a shape; backward sums g back.</summary>
    /// <param name="x">Input.</param>
    /// <param name="shape">Target shape.</param>
    /// <returns>The view.</returns>
    public static Variable Expand(Variable x, params int[] shape)
    {
        var old = x.Shape;
        return Variable.FromOp(x.Data.Expand(shape), "expand", new[] { x }, g => new[] { SumTo(g, old) });
    }
}
