using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels: Sifa.Tensor/Ops/Indexing/.
public static partial class Ops
{
    /// <summary>Concatenate along a dim; backward splits g.</summary>
    /// <param name="parts">Inputs.</param>
    /// <param name="dim">Dimension.</param>
    /// <returns>The concatenation.</returns>
    public static Variable Cat(IReadOnlyList<Variable> parts, int dim)
    {
        dim = parts[0].Data.NormDim(dim);
        var sizes = parts.Select(p => p.Shape[dim]).ToArray();
        return Variable.FromOp(Tensor.Cat(parts.Select(p => p.Data).ToList(), dim), "cat", parts.ToArray(), g =>
        {
            var r = new Tensor?[sizes.Length];
            int at = 0;
            for (int i = 0; i < sizes.Length; i++) { r[i] = g.Narrow(dim, at, sizes[i]); at += sizes[i]; }
            return r;
        });
    }

    /// <summary>Cyclic shift (torch.roll); backward rolls g the other way.</summary>
    /// <param name="x">Input.</param>
    /// <param name="shifts">Shifts.</param>
    /// <param name="dims">Dimensions.</param>
    /// <returns>The rolled value.</returns>
    public static Variable Roll(Variable x, int[] shifts, int[] dims) =>
        Variable.FromOp(x.Data.Roll(shifts, dims), "roll", new[] { x }, g => new[] { g.Roll(shifts.Select(s => -s).ToArray(), dims) });

    /// <summary>Select entries along a dim (embedding lookup, relative-position bias); backward index-adds g.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">Indices.</param>
    /// <returns>The selection.</returns>
    public static Variable IndexSelect(Variable x, int dim, int[] index)
    {
        var shape = x.Shape;
        dim = x.Data.NormDim(dim);
        return Variable.FromOp(x.Data.IndexSelect(dim, index), "index_select", new[] { x }, g =>
        {
            var z = Tensor.Zeros(shape, g.Device);
            z.Backend.IndexAdd(z, dim, index, g);
            return new[] { z };
        });
    }
}
