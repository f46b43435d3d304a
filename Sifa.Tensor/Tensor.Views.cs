namespace Sifa.Tensors;

// Views: new shape/strides/offset over the same storage, never a copy (except Reshape of a
// non-viewable layout, which copies like torch.reshape).
public sealed partial class Tensor
{
    /// <summary>A view with another shape; one size may be -1. Throws when the strides do not allow a view.</summary>
    /// <param name="shape">The new shape.</param>
    /// <returns>The view.</returns>
    public Tensor View(params int[] shape)
    {
        shape = InferShape(shape);
        var st = ViewStrides(shape) ?? throw new InvalidOperationException(
            $"view {Fmt(shape)} is impossible for shape {Fmt(Shape)} with strides {Fmt(Strides)}; use Reshape");
        return new Tensor(Storage, shape, st, Offset);
    }

    /// <summary>Like <see cref="View"/>, but copies when the layout does not allow a view.</summary>
    /// <param name="shape">The new shape; one size may be -1.</param>
    /// <returns>The reshaped tensor.</returns>
    public Tensor Reshape(params int[] shape)
    {
        shape = InferShape(shape);
        var st = ViewStrides(shape);
        return st != null ? new Tensor(Storage, shape, st, Offset) : Clone().View(shape);
    }

    private int[] InferShape(int[] shape)
    {
        shape = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"only one -1 allowed in {Fmt(shape)}");
                infer = i;
            }
            else known *= shape[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0) throw new ArgumentException($"cannot infer -1 in {Fmt(shape)} for {Numel} elements");
            shape[infer] = (int)(Numel / known);
        }
        if (NumelOf(shape) != Numel)
            throw new ArgumentException($"shape {Fmt(shape)} is invalid for a tensor of shape {Fmt(Shape)} ({Numel} elements)");
        return shape;
    }

    // Strides for a view of `shape`, or null: old dims are grouped into chunks that are contiguous
    // among themselves, and each chunk must map onto whole new dims (torch's computeStride).
    private int[]? ViewStrides(int[] shape)
    {
        if (IsContiguous || Numel == 0) return ContiguousStrides(shape);
        var newSt = new int[shape.Length];
        int viewD = shape.Length - 1;
        long chunkBase = Strides[Rank - 1], tensorNumel = 1, viewNumel = 1;
        for (int d = Rank - 1; d >= 0; d--)
        {
            tensorNumel *= Shape[d];
            if (d == 0 || (Shape[d - 1] != 1 && Strides[d - 1] != tensorNumel * chunkBase))
            {
                while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] == 1))
                {
                    newSt[viewD] = (int)(viewNumel * chunkBase);
                    viewNumel *= shape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) { chunkBase = Strides[d - 1]; tensorNumel = 1; viewNumel = 1; }
            }
        }
        return viewD == -1 ? newSt : null;
    }

    /// <summary>Reorders dimensions.</summary>
    /// <param name="dims">For each new dimension, the old one it takes.</param>
    /// <returns>The view.</returns>
    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Rank) throw new ArgumentException($"permute {Fmt(dims)} needs {Rank} dims for shape {Fmt(Shape)}");
        var sh = new int[Rank];
        var st = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = NormDim(dims[i]);
            if (seen[d]) throw new ArgumentException($"permute {Fmt(dims)} repeats dim {d}");
            seen[d] = true;
            sh[i] = Shape[d];
            st[i] = Strides[d];
        }
        return new Tensor(Storage, sh, st, Offset);
    }

    /// <summary>Swaps two dimensions.</summary>
    /// <param name="d0">First dimension.</param>
    /// <param name="d1">Second dimension.</param>
    /// <returns>The view.</returns>
    public Tensor Transpose(int d0, int d1)
    {
        var p = new int[Rank];
        for (int i = 0; i < Rank; i++) p[i] = i;
        d0 = NormDim(d0); d1 = NormDim(d1);
        (p[d0], p[d1]) = (p[d1], p[d0]);
        return Permute(p);
    }

    /// <summary>The elements <c>[start, start+length)</c> of one dimension.</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="start">First index (negative counts from the end).</param>
    /// <param name="length">The count.</param>
    /// <returns>The view.</returns>
    public Tensor Narrow(int dim, int start, int length)
    {
        dim = NormDim(dim);
        if (start < 0) start += Shape[dim];
        if (start < 0 || length < 0 || start + length > Shape[dim])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow({dim}, {start}, {length}) out of range for shape {Fmt(Shape)}");
        var sh = (int[])Shape.Clone();
        sh[dim] = length;
        return new Tensor(Storage, sh, (int[])Strides.Clone(), Offset + start * Strides[dim]);
    }

    /// <summary>Every <paramref name="step"/>-th element of a dimension from <paramref name="start"/> (Python's <c>start::step</c>).</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="start">First index.</param>
    /// <param name="step">Step (at least 1).</param>
    /// <returns>The view.</returns>
    public Tensor Slice(int dim, int start, int step)
    {
        dim = NormDim(dim);
        if (step < 1 || start < 0 || start > Shape[dim]) throw new ArgumentOutOfRangeException(nameof(step), $"slice {start}::{step} invalid for dim {dim} of {Fmt(Shape)}");
        var sh = (int[])Shape.Clone();
        var st = (int[])Strides.Clone();
        sh[dim] = (Shape[dim] - start + step - 1) / step;
        st[dim] = Strides[dim] * step;
        return new Tensor(Storage, sh, st, Offset + start * Strides[dim]);
    }

    /// <summary>Index <paramref name="index"/> of a dimension, which is removed.</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="index">The index.</param>
    /// <returns>The view.</returns>
    public Tensor Select(int dim, int index) => Narrow(dim, index, 1).Squeeze(dim);

    /// <summary>Broadcasts size-1 dimensions (and new leading ones) to a larger shape with stride 0.</summary>
    /// <param name="shape">The target shape; -1 keeps a size.</param>
    /// <returns>The view.</returns>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < Rank) throw new ArgumentException($"cannot expand {Fmt(Shape)} to fewer dims {Fmt(shape)}");
        int lead = shape.Length - Rank;
        var sh = new int[shape.Length];
        var st = new int[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (i < lead) { sh[i] = shape[i]; st[i] = 0; continue; }
            int s = Shape[i - lead], want = shape[i] == -1 ? s : shape[i];
            if (s == want) { sh[i] = s; st[i] = Strides[i - lead]; }
            else if (s == 1) { sh[i] = want; st[i] = 0; }
            else throw new ArgumentException($"cannot expand shape {Fmt(Shape)} to {Fmt(shape)}");
        }
        return new Tensor(Storage, sh, st, Offset);
    }

    /// <summary>Removes a size-1 dimension.</summary>
    /// <param name="dim">The dimension.</param>
    /// <returns>The view.</returns>
    public Tensor Squeeze(int dim)
    {
        dim = NormDim(dim);
        if (Shape[dim] != 1) return this;
        return new Tensor(Storage, Shape.Where((_, i) => i != dim).ToArray(), Strides.Where((_, i) => i != dim).ToArray(), Offset);
    }

    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/>.</summary>
    /// <param name="dim">Position in the result (negative counts from the end of the result).</param>
    /// <returns>The view.</returns>
    public Tensor Unsqueeze(int dim)
    {
        if (dim < 0) dim += Rank + 1;
        if (dim < 0 || dim > Rank) throw new ArgumentOutOfRangeException(nameof(dim));
        var sh = Shape.ToList(); var st = Strides.ToList();
        sh.Insert(dim, 1);
        st.Insert(dim, dim < Rank ? Strides[dim] * Shape[dim] : 1);
        return new Tensor(Storage, sh.ToArray(), st.ToArray(), Offset);
    }

    /// <summary>Merges dimensions <paramref name="start"/>..<paramref name="end"/> into one.</summary>
    /// <param name="start">First dimension.</param>
    /// <param name="end">Last dimension (inclusive).</param>
    /// <returns>The reshaped tensor.</returns>
    public Tensor Flatten(int start = 0, int end = -1)
    {
        start = NormDim(start); end = NormDim(end);
        var sh = new List<int>();
        for (int i = 0; i < start; i++) sh.Add(Shape[i]);
        int m = 1;
        for (int i = start; i <= end; i++) m *= Shape[i];
        sh.Add(m);
        for (int i = end + 1; i < Rank; i++) sh.Add(Shape[i]);
        return Reshape(sh.ToArray());
    }

    /// <summary>The shape two shapes broadcast to (NumPy rules).</summary>
    /// <param name="a">First shape.</param>
    /// <param name="b">Second shape.</param>
    /// <returns>The broadcast shape.</returns>
    public static int[] BroadcastShapes(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1) throw new ArgumentException($"shapes {Fmt(a)} and {Fmt(b)} do not broadcast");
            o[i] = da == 1 ? db : da;
        }
        return o;
    }
}
