using System.Numerics.Tensors;

namespace Sifa.Tensors.Cpu;

// Softmax / log-softmax along one dim of a dense tensor viewed as (outer, n, inner). The last dim (inner = 1) works
// row by row; other dims work on `inner`-long vectors across the n rows, so both paths are SIMD over contiguous memory.
// Cross-entropy builds on log-softmax.
public sealed partial class CpuBackend
{
    // Tiles of the inner dim processed together when softmax runs over a non-last dim.
    private const int SoftmaxTile = 512;

    /// <inheritdoc/>
    public Tensor SoftmaxForward(Tensor x, int dim, bool log)
    {
        x = x.Contiguous();
        var (outer, n, inner) = Split(x.Shape, dim);
        var y = Tensor.Empty(x.Shape);
        if (x.Numel == 0) return y;
        float[] xd = Data(x), yd = Data(y);
        int xo = x.Offset;
        if (inner == 1)
        {
            CpuParallel.ForChunks(outer, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                {
                    var xr = new ReadOnlySpan<float>(xd, xo + r * n, n);
                    var yr = new Span<float>(yd, r * n, n);
                    float max = TensorPrimitives.Max(xr);
                    TensorPrimitives.Subtract(xr, max, yr);
                    TensorPrimitives.Exp(yr, yr);
                    float sum = TensorPrimitives.Sum(yr);
                    if (log) TensorPrimitives.Subtract(xr, max + MathF.Log(sum), yr);
                    else TensorPrimitives.Multiply(yr, 1f / sum, yr);
                }
            }, (long)x.Numel * 4);
            return y;
        }
        int tiles = (inner + SoftmaxTile - 1) / SoftmaxTile;
        CpuParallel.For(outer * tiles, job =>
        {
            int o = job / tiles, t0 = job % tiles * SoftmaxTile, len = Math.Min(SoftmaxTile, inner - t0);
            Span<float> max = stackalloc float[len];
            Span<float> sum = stackalloc float[len];
            int baseAt = o * n * inner + t0;
            new ReadOnlySpan<float>(xd, xo + baseAt, len).CopyTo(max);
            for (int j = 1; j < n; j++) TensorPrimitives.Max(max, new ReadOnlySpan<float>(xd, xo + baseAt + j * inner, len), max);
            sum.Clear();
            for (int j = 0; j < n; j++)
            {
                var yj = new Span<float>(yd, baseAt + j * inner, len);
                TensorPrimitives.Subtract(new ReadOnlySpan<float>(xd, xo + baseAt + j * inner, len), max, yj);
                TensorPrimitives.Exp(yj, yj);
                TensorPrimitives.Add(sum, yj, sum);
            }
            if (log)
            {
                TensorPrimitives.Log(sum, sum);
                TensorPrimitives.Add(sum, max, sum); // log-sum-exp
                for (int j = 0; j < n; j++)
                    TensorPrimitives.Subtract(new ReadOnlySpan<float>(xd, xo + baseAt + j * inner, len), sum, new Span<float>(yd, baseAt + j * inner, len));
            }
            else
            {
                TensorPrimitives.Divide(1f, sum, sum);
                for (int j = 0; j < n; j++)
                {
                    var yj = new Span<float>(yd, baseAt + j * inner, len);
                    TensorPrimitives.Multiply(yj, sum, yj);
                }
            }
        }, (long)x.Numel * 4);
        return y;
    }

    /// <inheritdoc/>
    public Tensor SoftmaxBackward(Tensor y, Tensor dy, int dim, bool log)
    {
        if (!y.Shape.AsSpan().SequenceEqual(dy.Shape))
            throw new ArgumentException($"softmax backward: gradient {Tensor.Fmt(dy.Shape)} differs from the output {Tensor.Fmt(y.Shape)}");
        y = y.Contiguous(); dy = dy.Contiguous();
        var (outer, n, inner) = Split(y.Shape, dim);
        var dx = Tensor.Empty(y.Shape);
        if (y.Numel == 0) return dx;
        float[] yd = Data(y), gd = Data(dy), dd = Data(dx);
        int yo = y.Offset, go = dy.Offset;
        if (inner == 1)
        {
            CpuParallel.ForChunks(outer, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                {
                    var yr = new ReadOnlySpan<float>(yd, yo + r * n, n);
                    var gr = new ReadOnlySpan<float>(gd, go + r * n, n);
                    var dr = new Span<float>(dd, r * n, n);
                    if (log)
                    {
                        float s = TensorPrimitives.Sum(gr);
                        TensorPrimitives.Exp(yr, dr);
                        TensorPrimitives.MultiplyAdd(dr, -s, gr, dr); // dy − exp(y)·Σdy
                    }
                    else
                    {
                        float s = TensorPrimitives.Dot(gr, yr);
                        TensorPrimitives.Subtract(gr, s, dr);
                        TensorPrimitives.Multiply(dr, yr, dr); // y·(dy − Σ dy·y)
                    }
                }
            }, (long)y.Numel * 4);
            return dx;
        }
        int tiles = (inner + SoftmaxTile - 1) / SoftmaxTile;
        CpuParallel.For(outer * tiles, job =>
        {
            int o = job / tiles, t0 = job % tiles * SoftmaxTile, len = Math.Min(SoftmaxTile, inner - t0);
            Span<float> s = stackalloc float[len];
            s.Clear();
            int baseAt = o * n * inner + t0;
            for (int j = 0; j < n; j++)
            {
                var gj = new ReadOnlySpan<float>(gd, go + baseAt + j * inner, len);
                if (log) TensorPrimitives.Add(s, gj, s);
                else TensorPrimitives.FusedMultiplyAdd(gj, new ReadOnlySpan<float>(yd, yo + baseAt + j * inner, len), s, s);
            }
            for (int j = 0; j < n; j++)
            {
                var yj = new ReadOnlySpan<float>(yd, yo + baseAt + j * inner, len);
                var gj = new ReadOnlySpan<float>(gd, go + baseAt + j * inner, len);
                var dj = new Span<float>(dd, baseAt + j * inner, len);
                if (log)
                {
                    TensorPrimitives.Exp(yj, dj);
                    TensorPrimitives.Multiply(dj, s, dj);
                    TensorPrimitives.Subtract(gj, dj, dj);
                }
                else
                {
                    TensorPrimitives.Subtract(gj, s, dj);
                    TensorPrimitives.Multiply(dj, yj, dj);
                }
            }
        }, (long)y.Numel * 4);
        return dx;
    }

    /// <inheritdoc/>
    public (Tensor Loss, Tensor LogProbs) CrossEntropyForward(Tensor logits, int[] targets, float labelSmoothing)
    {
        if (logits.Rank != 2) throw new ArgumentException($"cross_entropy: logits must be (N, K), got {Tensor.Fmt(logits.Shape)}");
        int n = logits.Shape[0], k = logits.Shape[1];
        if (targets.Length != n) throw new ArgumentException($"cross_entropy: {targets.Length} targets for {n} rows of logits");
        var lp = SoftmaxForward(logits, 1, log: true);
        var ld = Data(lp);
        double total = 0, eps = labelSmoothing;
        for (int i = 0; i < n; i++)
        {
            int t = targets[i];
            if ((uint)t >= (uint)k) throw new ArgumentOutOfRangeException(nameof(targets), $"cross_entropy: target {t} at row {i} is outside [0, {k})");
            var row = new ReadOnlySpan<float>(ld, i * k, k);
            double l = -(1 - eps) * row[t];
            if (eps != 0) l -= eps / k * TensorPrimitives.Sum(row);
            total += l;
        }
        return (Tensor.Scalar(n == 0 ? float.NaN : (float)(total / n)), lp);
    }

    /// <inheritdoc/>
    public Tensor CrossEntropyBackward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss)
    {
        if (logProbs.Rank != 2 || targets.Length != logProbs.Shape[0])
            throw new ArgumentException($"cross_entropy backward: log-probabilities {Tensor.Fmt(logProbs.Shape)} do not match {targets.Length} targets");
        logProbs = logProbs.Contiguous();
        int n = logProbs.Shape[0], k = logProbs.Shape[1];
        float g = gradLoss.Item() / Math.Max(1, n);
        var dx = Tensor.Empty(n, k);
        float[] ld = Data(logProbs), dd = Data(dx);
        int lo = logProbs.Offset;
        float eps = labelSmoothing, off = -g * eps / k;
        for (int i = 0; i < n; i++)
        {
            var dr = new Span<float>(dd, i * k, k);
            TensorPrimitives.Exp(new ReadOnlySpan<float>(ld, lo + i * k, k), dr);
            SimdMath.ScaleShift(dr, g, off, dr); // g·(p − ε/K)
            dr[targets[i]] -= g * (1 - eps);
        }
        return dx;
    }
}
