using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// Swin's window multi-head self-attention with a learned relative position bias: for each window of
/// L = ws² tokens, softmax(q·kᵀ/√d + B[rel(i,j)] + mask)·v per head, then a projection.
/// Keys: <c>qkv</c>, <c>proj</c>, <c>relative_position_bias_table</c>, buffer <c>relative_position_index</c>.
/// </summary>
public sealed class WindowAttention : Module
{
    private readonly int _heads;
    private readonly float _scale;
    private readonly int[] _relIndex;
    private readonly Linear _qkv, _proj;

    /// <summary>Creates the attention.</summary>
    /// <param name="dim">Channels C.</param>
    /// <param name="window">Window size ws.</param>
    /// <param name="heads">Number of heads (C must be divisible by it).</param>
    /// <param name="gen">Initialisation generator.</param>
    public WindowAttention(int dim, int window, int heads, Generator gen)
    {
        if (dim % heads != 0) throw new ArgumentException($"dim {dim} is not divisible by {heads} heads");
        _heads = heads;
        Window = window;
        _scale = 1f / MathF.Sqrt(dim / heads);
        BiasTable = RegisterParameter("relative_position_bias_table", Tensor.TruncNormal(gen, new[] { (2 * window - 1) * (2 * window - 1), heads }, 0.02f));
        _relIndex = RelativePositionIndex(window);
        RegisterBuffer("relative_position_index", Tensor.FromArray(_relIndex.Select(i => (float)i).ToArray(), window * window, window * window), persistent: true, dtype: "I64");
        _qkv = RegisterModule("qkv", new Linear(gen, dim, 3 * dim));
        _proj = RegisterModule("proj", new Linear(gen, dim, dim));
    }

    /// <summary>Window size.</summary>
    public int Window { get; }

    /// <summary>The relative position bias table ((2ws-1)², heads).</summary>
    public Variable BiasTable { get; }

    /// <summary>For tokens i, j of a window (row-major), the bias-table row of their relative offset.</summary>
    /// <param name="ws">Window size.</param>
    /// <returns>L·L indices.</returns>
    public static int[] RelativePositionIndex(int ws)
    {
        int l = ws * ws;
        var idx = new int[l * l];
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
            {
                int dy = i / ws - j / ws + ws - 1, dx = i % ws - j % ws + ws - 1;
                idx[i * l + j] = dy * (2 * ws - 1) + dx;
            }
        return idx;
    }

    /// <summary>Attention within windows.</summary>
    /// <param name="x">Windows (B·nW, L, C).</param>
    /// <param name="mask">Optional additive mask (nW, L, L) for shifted windows.</param>
    /// <returns>(B·nW, L, C).</returns>
    public Variable Forward(Variable x, Variable? mask = null)
    {
        int b = x.Shape[0], l = x.Shape[1], c = x.Shape[2], d = c / _heads;
        var qkv = Ops.Permute(Ops.Reshape(_qkv.Forward(x), b, l, 3, _heads, d), 2, 0, 3, 1, 4); // (3, B, heads, L, d)
        Variable Part(int i) => Ops.Reshape(Ops.Narrow(qkv, 0, i, 1), b, _heads, l, d);
        var q = Part(0) * _scale;
        var k = Part(1);
        var v = Part(2);
        var attn = Ops.Matmul(q, Ops.Transpose(k, -2, -1)); // (B, heads, L, L)
        var bias = Ops.Permute(Ops.Reshape(Ops.IndexSelect(BiasTable, 0, _relIndex), l, l, _heads), 2, 0, 1);
        // The scores are a fresh product (matmul saves its inputs, not its output): bias and mask are added in place.
        attn = Ops.AddInPlace(attn, bias);
        if (mask != null)
        {
            int nw = mask.Shape[0];
            attn = Ops.Reshape(Ops.AddInPlace(Ops.Reshape(attn, b / nw, nw, _heads, l, l), Ops.Reshape(mask, nw, 1, l, l)), b, _heads, l, l);
        }
        attn = Ops.Softmax(attn, -1);
        var o = Ops.Reshape(Ops.Transpose(Ops.Matmul(attn, v), 1, 2), b, l, c);
        return _proj.Forward(o);
    }
}
