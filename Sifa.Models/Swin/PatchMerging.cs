using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// Swin's patch merging: concatenates the 2×2 neighbours x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2]
/// (4C channels), then LayerNorm and a bias-free linear 4C → 2C. Keys <c>norm</c>, <c>reduction</c>.
/// </summary>
public sealed class PatchMerging : Module
{
    private readonly int _h, _w;
    private readonly LayerNorm _norm;
    private readonly Linear _reduction;

    /// <summary>Creates the layer.</summary>
    /// <param name="height">Input token rows.</param>
    /// <param name="width">Input token columns.</param>
    /// <param name="dim">Input channels C.</param>
    /// <param name="gen">Initialisation generator.</param>
    public PatchMerging(int height, int width, int dim, Generator gen)
    {
        (_h, _w) = (height, width);
        _reduction = RegisterModule("reduction", new Linear(gen, 4 * dim, 2 * dim, bias: false));
        _norm = RegisterModule("norm", new LayerNorm(4 * dim));
    }

    /// <summary>(B, H·W, C) → (B, H/2·W/2, 2C).</summary>
    /// <param name="x">Tokens.</param>
    /// <returns>Merged tokens.</returns>
    public Variable Forward(Variable x)
    {
        int b = x.Shape[0], c = x.Shape[2];
        if (x.Shape[1] != _h * _w) throw new ArgumentException($"patch merging expects {_h}×{_w} tokens, got {Tensor.Fmt(x.Shape)}");
        var g = Ops.Reshape(x, b, _h, _w, c);
        Variable Part(int y0, int x0) => Ops.Slice(Ops.Slice(g, 1, y0, 2), 2, x0, 2);
        var cat = Ops.Cat(new[] { Part(0, 0), Part(1, 0), Part(0, 1), Part(1, 1) }, -1);
        return _reduction.Forward(_norm.Forward(Ops.Reshape(cat, b, -1, 4 * c)));
    }
}
