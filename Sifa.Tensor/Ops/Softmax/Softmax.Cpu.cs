using System.Numerics.Tensors;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor SoftmaxForward(Tensor x, int dim, bool log) => SoftmaxKernels.Forward(x, dim, log);

    /// <inheritdoc/>
    public Tensor SoftmaxBackward(Tensor y, Tensor dy, int dim, bool log)
    {
        SoftmaxChecks.Backward(y, dy);
        return SoftmaxKernels.Backward(y, dy, dim, log);
    }
}

// Softmax / log-softmax along one dim of a dense tensor viewed as (outer, n, inner) (see ShapeSplit). The last dim
// (inner = 1) works row by row; other dims work on `inner`-long vectors across the n rows, so both paths are SIMD over
// contiguous memory. The backward formulas are on IBackend.SoftmaxBackward.
internal static class SoftmaxKernels
{
    // Tiles of the inner dim processed together when softmax runs over a non-last dim.
    private const int Tile = 512;

    public static Tensor Forward(Tensor x, int dim, bool log)
    {
        x = x.Contiguous();
        var (outer, n, inner) = ShapeSplit.AroundDim(x.Shape, dim);
        var y = Tensor.Empty(x.Shape);
        if (x.Numel == 0) return y;
        float[] xd = CpuBackend.Data(x), yd = CpuBackend.Data(y);
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
        ForTiles(outer, inner, (o, t0, len) =>
        {
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

    // Runs body(o, t0, len) for every outer index o and tile [t0, t0 + len) of the inner dim, in parallel.
    private static void ForTiles(int outer, int inner, Action<int, int, int> body, long work)
    {
        int tiles = (inner + Tile - 1) / Tile;
        CpuParallel.For(outer * tiles, job =>
        {
            int o = job / tiles, t0 = job % tiles * Tile;
            body(o, t0, Math.Min(Tile, inner - t0));
        }, work);
    }

    public static Tensor Backward(Tensor y, Tensor dy, int dim, bool log)
    {
        y = y.Contiguous(); dy = dy.Contiguous();
        var (outer, n, inner) = ShapeSplit.AroundDim(y.Shape, dim);
        var dx = Tensor.Empty(y.Shape);
        if (y.Numel == 0) return dx;
        float[] yd = CpuBackend.Data(y), gd = CpuBackend.Data(dy), dd = CpuBackend.Data(dx);
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
        ForTiles(outer, inner, (o, t0, len) =>
        {
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
}
