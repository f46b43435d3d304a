using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// The fused optimizer kernels on host arrays: one pass over blocks of <see cref="Block"/> elements, on all cores for
/// large tensors, every update applying all its operations to a block while it is in L1 (each array is read and
/// written once). The SIMD bodies repeat <see cref="OptimMath"/> lane-wise, operation for operation; the tails call it.
/// </summary>
internal static class OptimKernels
{
    public const int Block = 4096;

    private static void ForBlocks(int length, Action<int, int> body) =>
        CpuParallel.For((length + Block - 1) / Block, b =>
        {
            int s = b * Block;
            body(s, Math.Min(Block, length - s));
        }, 8L * length);

    public static void Sgd(ArraySegment<float> param, ArraySegment<float> grad, ArraySegment<float> momentumBuffer, SgdStepArgs a) =>
        ForBlocks(param.Count, (s, n) => SgdBlock(param.AsSpan(s, n), grad.AsSpan(s, n),
            a.Momentum != 0f ? momentumBuffer.AsSpan(s, n) : default, a));

    // The block's scalars are a by-value parameter so the JIT keeps them in registers across the loop.
    private static void SgdBlock(Span<float> ps, ReadOnlySpan<float> gs, Span<float> bs, SgdStepArgs a)
    {
        bool hasBuf = a.Momentum != 0f;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var pv = MemoryMarshal.Cast<float, Vector<float>>(ps);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(gs);
            var bv = MemoryMarshal.Cast<float, Vector<float>>(bs);
            for (int k = 0; k < pv.Length; k++)
            {
                var p = pv[k];
                var d = a.WeightDecay != 0f ? p * a.WeightDecay + gv[k] : gv[k];
                if (hasBuf)
                {
                    var buf = a.FirstStep ? d : bv[k] * a.Momentum + d * a.OneMinusDampening;
                    bv[k] = buf;
                    d = a.Nesterov ? buf * a.Momentum + d : buf;
                }
                pv[k] = p - d * a.Lr;
            }
            i = pv.Length * Vector<float>.Count;
        }
        float unused = 0;
        for (; i < ps.Length; i++) ps[i] = OptimMath.Sgd(ps[i], gs[i], ref hasBuf ? ref bs[i] : ref unused, a);
    }

    public static void AdamW(ArraySegment<float> param, ArraySegment<float> grad, ArraySegment<float> expAvg, ArraySegment<float> expAvgSq, AdamWStepArgs a) =>
        ForBlocks(param.Count, (s, n) => AdamWBlock(param.AsSpan(s, n), grad.AsSpan(s, n), expAvg.AsSpan(s, n), expAvgSq.AsSpan(s, n), a));

    private static void AdamWBlock(Span<float> ps, ReadOnlySpan<float> gs, Span<float> ms, Span<float> vs, AdamWStepArgs a)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var pv = MemoryMarshal.Cast<float, Vector<float>>(ps);
            var gv = MemoryMarshal.Cast<float, Vector<float>>(gs);
            var mv = MemoryMarshal.Cast<float, Vector<float>>(ms);
            var vv = MemoryMarshal.Cast<float, Vector<float>>(vs);
            var eps = new Vector<float>(a.Eps);
            for (int k = 0; k < pv.Length; k++)
            {
                var p = pv[k];
                var g = gv[k];
                if (a.ApplyDecay) p *= a.Decay;
                var m = mv[k] * a.Beta1 + g * a.OneMinusBeta1;
                var v = vv[k] * a.Beta2 + g * g * a.OneMinusBeta2;
                mv[k] = m;
                vv[k] = v;
                pv[k] = p - m / (Vector.SquareRoot(v) / a.Bc2Sqrt + eps) * a.StepSize;
            }
            i = pv.Length * Vector<float>.Count;
        }
        for (; i < ps.Length; i++) ps[i] = OptimMath.AdamW(ps[i], gs[i], ref ms[i], ref vs[i], a);
    }

    /// <summary>Σ x² in double: exact float products, summed per block, the blocks in order (deterministic on any core count).</summary>
    public static double SumOfSquares(ArraySegment<float> x)
    {
        int blocks = (x.Count + Block - 1) / Block;
        var partial = new double[blocks];
        CpuParallel.For(blocks, b =>
        {
            int s = b * Block;
            partial[b] = BlockSumOfSquares(x.AsSpan(s, Math.Min(Block, x.Count - s)));
        }, 4L * x.Count);
        double sum = 0;
        foreach (var p in partial) sum += p;
        return sum;
    }

    // Double accumulation: a norm over millions of gradients in float would lose the digits the clip factor keeps.
    private static double BlockSumOfSquares(ReadOnlySpan<float> x)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
            Vector<double> acc0 = Vector<double>.Zero, acc1 = Vector<double>.Zero;
            foreach (var v in xv)
            {
                Vector.Widen(v, out var lo, out var hi);
                acc0 += lo * lo;
                acc1 += hi * hi;
            }
            sum = Vector.Sum(acc0 + acc1);
            i = xv.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) sum += (double)x[i] * x[i];
        return sum;
    }

    public static void Scale(ArraySegment<float> x, float factor) =>
        ForBlocks(x.Count, (s, n) => TensorPrimitives.Multiply(x.AsSpan(s, n), factor, x.AsSpan(s, n)));
}
