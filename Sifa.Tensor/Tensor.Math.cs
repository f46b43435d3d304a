using Sifa.Tensors.Elementwise;

namespace Sifa.Tensors;

// Non-differentiable maths on tensors: thin front-ends that dispatch to the backend of the tensor's device.
public sealed partial class Tensor
{
    /// <summary>Element-wise +(Tensor a, Tensor b) via the backend: <c>a.Backend.Zip(a, b, new AddOp())</c>.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Backend.Zip(a, b, new AddOp());
    /// <summary>Element-wise -(Tensor a, Tensor b) via the backend: <c>a.Backend.Zip(a, b, new SubOp())</c>.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Backend.Zip(a, b, new SubOp());
    /// <summary>Element-wise *(Tensor a, Tensor b) via the backend: <c>a.Backend.Zip(a, b, new MulOp())</c>.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Backend.Zip(a, b, new MulOp());
    /// <summary>Element-wise /(Tensor a, Tensor b) via the backend: <c>a.Backend.Zip(a, b, new DivOp())</c>.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Backend.Zip(a, b, new DivOp());
    /// <summary>Element-wise -(Tensor a) via the backend: <c>a.Backend.Map(a, new NegOp())</c>.</summary>
    public static Tensor operator -(Tensor a) => a.Backend.Map(a, new NegOp());
    /// <summary>Element-wise +(Tensor a, float s) via the backend: <c>a.Backend.Map(a, new AffineOp(1f, s))</c>.</summary>
    public static Tensor operator +(Tensor a, float s) => a.Backend.Map(a, new AffineOp(1f, s));
    /// <summary>Element-wise -(Tensor a, float s) via the backend: <c>a.Backend.Map(a, new AffineOp(1f, -s))</c>.</summary>
    public static Tensor operator -(Tensor a, float s) => a.Backend.Map(a, new AffineOp(1f, -s));
    /// <summary>Element-wise *(Tensor a, float s) via the backend: <c>a.Backend.Map(a, new AffineOp(s, 0f))</c>.</summary>
    public static Tensor operator *(Tensor a, float s) => a.Backend.Map(a, new AffineOp(s, 0f));
    /// <summary>Element-wise *(float s, Tensor a) via the backend: <c>a.Backend.Map(a, new AffineOp(s, 0f))</c>.</summary>
    public static Tensor operator *(float s, Tensor a) => a.Backend.Map(a, new AffineOp(s, 0f));
    /// <summary>Element-wise /(Tensor a, float s) via the backend: <c>a.Backend.Map(a, new AffineOp(1f / s, 0f))</c>.</summary>
    public static Tensor operator /(Tensor a, float s) => a.Backend.Map(a, new AffineOp(1f / s, 0f));
    /// <summary>Computed by the backend: <c>Backend.Map(this, op)</c>.</summary>
    public Tensor Map<TOp>(TOp op) where TOp : struct, IUnaryOp => Backend.Map(this, op);
    /// <summary>Computed by the backend: <c>Backend.Zip(this, other, op)</c>.</summary>
    public Tensor Zip<TOp>(Tensor other, TOp op) where TOp : struct, IBinaryOp => Backend.Zip(this, other, op);
    /// <summary>Computed by the backend: <c>Backend.Map(this, new ExpOp())</c>.</summary>
    public Tensor Exp() => Backend.Map(this, new ExpOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new LogOp())</c>.</summary>
    public Tensor Log() => Backend.Map(this, new LogOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new SqrtOp())</c>.</summary>
    public Tensor Sqrt() => Backend.Map(this, new SqrtOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new AbsOp())</c>.</summary>
    public Tensor Abs() => Backend.Map(this, new AbsOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new SquareOp())</c>.</summary>
    public Tensor Square() => Backend.Map(this, new SquareOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new ReluOp())</c>.</summary>
    public Tensor Relu() => Backend.Map(this, new ReluOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new SigmoidOp())</c>.</summary>
    public Tensor Sigmoid() => Backend.Map(this, new SigmoidOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new GeluOp())</c>.</summary>
    public Tensor Gelu() => Backend.Map(this, new GeluOp());
    /// <summary>Computed by the backend: <c>Backend.Map(this, new PowOp(p))</c>.</summary>
    public Tensor Pow(float p) => Backend.Map(this, new PowOp(p));
    /// <summary>Computed by the backend: <c>Backend.Zip(this, other, new MaxOp())</c>.</summary>
    public Tensor Maximum(Tensor other) => Backend.Zip(this, other, new MaxOp());

    /// <summary>In place: this += other (broadcast); this tensor must be dense.</summary>
    /// <param name="other">The addend.</param>
    /// <returns>This tensor.</returns>
    public Tensor AddInPlace(Tensor other)
    {
        Backend.Zip(this, other, new AddOp(), this);
        return this;
    }

    /// <summary>Sum over dimensions (all when none given).</summary>
    /// <param name="dims">Dimensions (negative allowed).</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The sums.</returns>
    public Tensor Sum(int[]? dims = null, bool keepDim = false) => Reduce(dims, keepDim, ReduceKind.Sum);

    /// <summary>Mean over dimensions (all when none given).</summary>
    /// <param name="dims">Dimensions.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The means.</returns>
    public Tensor Mean(int[]? dims = null, bool keepDim = false) => Reduce(dims, keepDim, ReduceKind.Mean);

    /// <summary>Maximum over dimensions (all when none given).</summary>
    /// <param name="dims">Dimensions.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The maxima.</returns>
    public Tensor Max(int[]? dims = null, bool keepDim = false) => Reduce(dims, keepDim, ReduceKind.Max);

    /// <summary>Minimum over dimensions (all when none given).</summary>
    /// <param name="dims">Dimensions.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The minima.</returns>
    public Tensor Min(int[]? dims = null, bool keepDim = false) => Reduce(dims, keepDim, ReduceKind.Min);

    /// <summary>Variance over dimensions (biased or unbiased).</summary>
    /// <param name="dims">Dimensions.</param>
    /// <param name="unbiased">Divide by n-1 instead of n.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <returns>The variances.</returns>
    public Tensor Var(int[]? dims = null, bool unbiased = true, bool keepDim = false)
    {
        var nd = NormDims(dims);
        int n = 1;
        foreach (var d in nd) n *= Shape[d];
        var centred = this - Mean(nd, keepDim: true);
        var ss = centred.Square().Sum(nd, keepDim);
        return ss / Math.Max(1, unbiased ? n - 1 : n);
    }

    /// <summary>Index of the maximum along a dimension (first on ties).</summary>
    /// <param name="dim">The dimension.</param>
    /// <param name="keepDim">Keep the dim as size 1.</param>
    /// <returns>Indices as float values.</returns>
    public Tensor ArgMax(int dim, bool keepDim = false) => Backend.ArgMax(this, NormDim(dim), keepDim);

    private Tensor Reduce(int[]? dims, bool keepDim, ReduceKind kind) => Backend.Reduce(this, NormDims(dims), keepDim, kind);

    /// <summary>Normalised, sorted, distinct dims (all dims when null or empty).</summary>
    /// <param name="dims">Dimensions, negative allowed.</param>
    /// <returns>The dims.</returns>
    public int[] NormDims(int[]? dims)
    {
        if (dims == null || dims.Length == 0) return Enumerable.Range(0, Rank).ToArray();
        var r = dims.Select(NormDim).Distinct().OrderBy(d => d).ToArray();
        if (r.Length != dims.Length) throw new ArgumentException($"repeated dims {Fmt(dims)}");
        return r;
    }

    /// <summary>Matrix product with batch broadcasting; 1-D operands are treated as a row / column vector.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The product.</returns>
    public static Tensor Matmul(Tensor a, Tensor b)
    {
        if (a.Rank == 1) return Matmul(a.Unsqueeze(0), b).Squeeze(-2);
        if (b.Rank == 1) return Matmul(a, b.Unsqueeze(1)).Squeeze(-1);
        return a.Backend.Matmul(a, b);
    }

    /// <summary>Concatenates along a dimension.</summary>
    /// <param name="parts">The tensors.</param>
    /// <param name="dim">The dimension.</param>
    /// <returns>The result.</returns>
    public static Tensor Cat(IReadOnlyList<Tensor> parts, int dim) => parts[0].Backend.Concat(parts, parts[0].NormDim(dim));

    /// <summary>Stacks same-shape tensors along a new dimension.</summary>
    /// <param name="parts">The tensors.</param>
    /// <param name="dim">Position of the new dimension.</param>
    /// <returns>The result.</returns>
    public static Tensor Stack(IReadOnlyList<Tensor> parts, int dim = 0) => Cat(parts.Select(p => p.Unsqueeze(dim)).ToList(), dim < 0 ? dim + parts[0].Rank + 1 : dim);

    /// <summary>Cyclic shift (torch.roll).</summary>
    /// <param name="shifts">Shifts.</param>
    /// <param name="dims">Dimensions.</param>
    /// <returns>The rolled tensor.</returns>
    public Tensor Roll(int[] shifts, int[] dims)
    {
        if (shifts.Length != dims.Length) throw new ArgumentException("roll needs one shift per dim");
        return Backend.Roll(this, shifts, dims.Select(NormDim).ToArray());
    }

    /// <summary>Entries along a dimension by index.</summary>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">Indices.</param>
    /// <returns>The selection.</returns>
    public Tensor IndexSelect(int dim, int[] index) => Backend.IndexSelect(this, NormDim(dim), index);

    /// <summary>torch.gather along a dimension.</summary>
    /// <param name="dim">Dimension.</param>
    /// <param name="index">Indices as floats.</param>
    /// <returns>Gathered values.</returns>
    public Tensor Gather(int dim, Tensor index) => Backend.Gather(this, NormDim(dim), index);

    /// <summary>True when both tensors have the same shape and every value differs by at most atol + rtol·|other|.</summary>
    /// <param name="other">Reference values.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <returns>Whether they are close.</returns>
    public bool AllClose(Tensor other, float rtol = 1e-5f, float atol = 1e-6f)
    {
        if (!Shape.AsSpan().SequenceEqual(other.Shape)) return false;
        var a = ToArray(); var b = other.ToArray();
        for (int i = 0; i < a.Length; i++)
            if (!(MathF.Abs(a[i] - b[i]) <= atol + rtol * MathF.Abs(b[i]))) return false;
        return true;
    }
}
