using Sifa.Tensors;

namespace Sifa.Autograd;

// Kernels: Sifa.Tensor/Ops/Matmul/ (on the SGEMM in Sifa.Tensor/Cpu/Gemm/).

public static partial class Ops
{
    /// <summary>Batched matrix product (..., M, K)·(..., K, N) with broadcast batch dims.
    /// Backward: dA = g·Bᵀ, dB = Aᵀ·g (summed over broadcast batch dims).</summary>
    /// <param name="a">Left.</param>
    /// <param name="b">Right.</param>
    /// <returns>The product.</returns>
    public static Variable Matmul(Variable a, Variable b)
    {
        Tensor av = a.Data, bv = b.Data;
        var y = Tensor.Matmul(av, bv);
        FlopCounter.Add((long)y.Numel * av.Shape[^1]);
        return Variable.FromOp(y, "matmul", new[] { a, b }, g => new[]
        {
            a.RequiresGrad ? SumTo(Tensor.Matmul(g, bv.Transpose(-1, -2)), a.Shape) : null,
            b.RequiresGrad ? SumTo(Tensor.Matmul(av.Transpose(-1, -2), g), b.Shape) : null,
        });
    }

    /// <summary>y = x·Wᵀ + b over any leading dims (weight (out, in)). Backward: dx = g·W, dW = gᵀ·x, db = Σg.</summary>
    /// <param name="x">Input (..., in).</param>
    /// <param name="weight">Weight (out, in).</param>
    /// <param name="bias">Optional bias (out).</param>
    /// <returns>The output (..., out).</returns>
    public static Variable Linear(Variable x, Variable weight, Variable? bias = null)
    {
        int fin = weight.Shape[1], fout = weight.Shape[0];
        if (x.Shape[^1] != fin) throw new ArgumentException($"linear: input {Tensor.Fmt(x.Shape)} does not end in {fin} (weight {Tensor.Fmt(weight.Shape)})");
        var lead = x.Shape[..^1];
        var x2 = x.Data.Reshape(-1, fin);
        var wv = weight.Data;
        var y = Tensor.Matmul(x2, wv.Transpose(0, 1));
        if (bias != null) y.AddInPlace(bias.Data);
        FlopCounter.Add((long)y.Numel * fin);
        var inputs = bias == null ? new[] { x, weight } : new[] { x, weight, bias };
        return Variable.FromOp(y.View(lead.Append(fout).ToArray()), "linear", inputs, g =>
        {
            var g2 = g.Reshape(-1, fout);
            return new[]
            {
                x.RequiresGrad ? Tensor.Matmul(g2, wv).View(x.Shape) : null,
                weight.RequiresGrad ? Tensor.Matmul(g2.Transpose(0, 1), x2) : null,
                bias != null && bias.RequiresGrad ? g2.Sum(new[] { 0 }) : null,
            };
        });
    }
}
