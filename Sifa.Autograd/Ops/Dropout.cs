using Sifa.Tensors;

namespace Sifa.Autograd;

// Mask kernel: Sifa.Tensor/Ops/Dropout/.
public static partial class Ops
{
    /// <summary>
    /// Inverted dropout: each element is zeroed with probability <paramref name="p"/> and the kept ones are scaled by
    /// 1/(1−p); the identity in eval mode or when p = 0. Backward multiplies by the same mask.
    /// </summary>
    /// <param name="x">Input.</param>
    /// <param name="p">Drop probability in [0, 1].</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <param name="gen">Random generator for the mask.</param>
    /// <returns>The result.</returns>
    public static Variable Dropout(Variable x, float p, bool training, Generator gen)
    {
        CheckProb(p, "dropout");
        if (!training || p == 0f) return x;
        return MaskMul(x, x.Data.Backend.BernoulliMask(x.Shape, 1f - p, p >= 1f ? 0f : 1f / (1f - p), gen), "dropout");
    }

    /// <summary>
    /// Stochastic depth on a residual branch: each sample (index along dim 0) is zeroed with probability
    /// <paramref name="p"/>, the kept ones scaled by 1/(1−p); the identity in eval mode or when p = 0.
    /// </summary>
    /// <param name="x">Branch output (N, ...).</param>
    /// <param name="p">Drop probability in [0, 1].</param>
    /// <param name="training">Whether it is active.</param>
    /// <param name="gen">Random generator for the per-sample mask.</param>
    /// <returns>The result.</returns>
    public static Variable DropPath(Variable x, float p, bool training, Generator gen)
    {
        CheckProb(p, "drop_path");
        if (!training || p == 0f) return x;
        if (x.Rank < 1) throw new ArgumentException("drop_path needs a batch dim");
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[0] = x.Shape[0];
        return MaskMul(x, x.Data.Backend.BernoulliMask(shape, 1f - p, p >= 1f ? 0f : 1f / (1f - p), gen), "drop_path");
    }

    private static void CheckProb(float p, string op)
    {
        if (!(p >= 0f && p <= 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"{op}: probability {p} is outside [0, 1]");
    }

    // y = x·mask (mask broadcast); backward g·mask summed back to x's shape.
    private static Variable MaskMul(Variable x, Tensor mask, string op)
    {
        var shape = x.Shape;
        return Variable.FromOp(x.Data * mask, op, new[] { x }, g => new[] { SumTo(g * mask, shape) });
    }
}
