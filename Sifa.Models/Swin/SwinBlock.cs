using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>Swin's MLP: fc1 → GELU → fc2 (keys <c>fc1</c>, <c>fc2</c>).</summary>
public sealed class Mlp : Module, IForward
{
    private readonly Linear _fc1, _fc2;

    /// <summary>Creates the MLP.</summary>
    /// <param name="dim">Channels.</param>
    /// <param name="hidden">Hidden width.</param>
    /// <param name="gen">Initialisation generator.</param>
    public Mlp(int dim, int hidden, Generator gen)
    {
        _fc1 = RegisterModule("fc1", new Linear(gen, dim, hidden));
        _fc2 = RegisterModule("fc2", new Linear(gen, hidden, dim));
    }

    /// <inheritdoc/>
    public Variable Forward(Variable x) => _fc2.Forward(Ops.Gelu(_fc1.Forward(x)));
}

/// <summary>
/// One Swin block: (shifted) window attention and an MLP, each with a pre-norm residual and drop path; in a
/// regular-window block of a SIFA stage, the inter-frame term is added after the attention residual:
/// x = x + sifa_norm(SIFA(x) - x) on the token map (SPEC section 5; sifa_norm starts at zero).
/// </summary>
public sealed class SwinBlock : Module
{
    private readonly int _h, _w, _ws, _shift;
    private readonly LayerNorm _norm1, _norm2;
    private readonly WindowAttention _attn;
    private readonly Mlp _mlp;
    private readonly SifaBlock? _sifa;
    private readonly LayerNorm? _sifaNorm;
    private readonly DropPath _dropPath;
    private readonly Tensor? _mask;

    /// <summary>Creates the block.</summary>
    /// <param name="dim">Channels.</param>
    /// <param name="height">Token rows.</param>
    /// <param name="width">Token columns.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="window">Window size (shrinks to the resolution when that is smaller).</param>
    /// <param name="shift">Cyclic shift (0 for regular windows).</param>
    /// <param name="mlpRatio">MLP hidden ratio.</param>
    /// <param name="dropPath">Stochastic depth rate.</param>
    /// <param name="sifa">SIFA options for a SIFA stage (used only when the block is not shifted).</param>
    /// <param name="gen">Initialisation generator.</param>
    public SwinBlock(int dim, int height, int width, int heads, int window, int shift, float mlpRatio, float dropPath,
        SifaOptions? sifa, Generator gen)
    {
        if (Math.Min(height, width) <= window) { window = Math.Min(height, width); shift = 0; }
        (_h, _w, _ws, _shift) = (height, width, window, shift);
        if (height % window != 0 || width % window != 0)
            throw new ArgumentException($"token map {height}×{width} is not divisible by window {window}");
        _norm1 = RegisterModule("norm1", new LayerNorm(dim));
        _attn = RegisterModule("attn", new WindowAttention(dim, window, heads, gen));
        _norm2 = RegisterModule("norm2", new LayerNorm(dim));
        _mlp = RegisterModule("mlp", new Mlp(dim, (int)(dim * mlpRatio), gen));
        if (sifa != null && shift == 0)
        {
            _sifa = RegisterModule("sifa", new SifaBlock(dim, sifa, gen));
            _sifaNorm = RegisterModule("sifa_norm", new LayerNorm(dim));
            _sifaNorm.Weight!.Data.Fill_(0f);
            _sifaNorm.Bias!.Data.Fill_(0f);
        }
        _dropPath = RegisterModule("drop_path", new DropPath(dropPath, gen.Fork()));
        if (shift > 0)
        {
            _mask = ShiftMask(height, width, window, shift);
            RegisterBuffer("attn_mask", _mask, persistent: false);
        }
    }

    /// <summary>The attention mask of shifted windows: -100 between tokens from different regions of the rolled map.</summary>
    /// <param name="h">Rows.</param>
    /// <param name="w">Columns.</param>
    /// <param name="ws">Window.</param>
    /// <param name="shift">Shift.</param>
    /// <returns>(nW, L, L).</returns>
    public static Tensor ShiftMask(int h, int w, int ws, int shift)
    {
        var region = new int[h * w];
        int Band(int i, int n) => i < n - ws ? 0 : i < n - shift ? 1 : 2;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) region[y * w + x] = Band(y, h) * 3 + Band(x, w);
        int nh = h / ws, nw = w / ws, l = ws * ws;
        var m = new float[nh * nw * l * l];
        for (int wy = 0; wy < nh; wy++)
            for (int wx = 0; wx < nw; wx++)
            {
                int win = wy * nw + wx;
                for (int i = 0; i < l; i++)
                    for (int j = 0; j < l; j++)
                    {
                        int ri = region[(wy * ws + i / ws) * w + wx * ws + i % ws];
                        int rj = region[(wy * ws + j / ws) * w + wx * ws + j % ws];
                        m[(win * l + i) * l + j] = ri == rj ? 0f : -100f;
                    }
            }
        return Tensor.FromArray(m, nh * nw, l, l);
    }

    /// <summary>The block on tokens (B, H·W, C) of B = N·T frames.</summary>
    /// <param name="x">Tokens.</param>
    /// <param name="frames">Frames per clip (for SIFA).</param>
    /// <returns>Tokens.</returns>
    public Variable Forward(Variable x, int frames)
    {
        int b = x.Shape[0], l = x.Shape[1], c = x.Shape[2];
        var h = Ops.Reshape(_norm1.Forward(x), b, _h, _w, c);
        if (_shift > 0) h = Ops.Roll(h, new[] { -_shift, -_shift }, new[] { 1, 2 });
        var win = WindowPartition(h, _ws);
        var aw = _attn.Forward(win, _mask == null ? null : new Variable(_mask.ToDevice(x.Data.Device)));
        h = WindowReverse(aw, _ws, _h, _w);
        if (_shift > 0) h = Ops.Roll(h, new[] { _shift, _shift }, new[] { 1, 2 });
        // Residual sums are written over the branch's fresh output (a window-reverse copy, a drop-path product, a
        // layer-norm or linear output: none saved by its backward) instead of allocating one more array for x + branch.
        x = Ops.AddInPlace(_dropPath.Forward(Ops.Reshape(h, b, l, c)), x);
        if (_sifa != null)
        {
            var f = Ops.Reshape(Ops.Transpose(x, 1, 2), b, c, _h, _w);
            var agg = _sifa.Forward(f, frames) - f;
            x = Ops.AddInPlace(_sifaNorm!.Forward(Ops.Transpose(Ops.Reshape(agg, b, c, l), 1, 2)), x);
        }
        return Ops.AddInPlace(_dropPath.Forward(_mlp.Forward(_norm2.Forward(x))), x);
    }

    /// <summary>(B, H, W, C) → (B·nW, ws², C).</summary>
    /// <param name="x">Token map.</param>
    /// <param name="ws">Window.</param>
    /// <returns>Windows.</returns>
    public static Variable WindowPartition(Variable x, int ws)
    {
        int b = x.Shape[0], h = x.Shape[1], w = x.Shape[2], c = x.Shape[3];
        var v = Ops.Reshape(x, b, h / ws, ws, w / ws, ws, c);
        return Ops.Reshape(Ops.Permute(v, 0, 1, 3, 2, 4, 5), -1, ws * ws, c);
    }

    /// <summary>(B·nW, ws², C) → (B, H, W, C).</summary>
    /// <param name="windows">Windows.</param>
    /// <param name="ws">Window.</param>
    /// <param name="h">Rows.</param>
    /// <param name="w">Columns.</param>
    /// <returns>Token map.</returns>
    public static Variable WindowReverse(Variable windows, int ws, int h, int w)
    {
        int c = windows.Shape[2], b = windows.Shape[0] / (h / ws * (w / ws));
        var v = Ops.Reshape(windows, b, h / ws, w / ws, ws, ws, c);
        return Ops.Reshape(Ops.Permute(v, 0, 1, 3, 2, 4, 5), b, h, w, c);
    }
}
