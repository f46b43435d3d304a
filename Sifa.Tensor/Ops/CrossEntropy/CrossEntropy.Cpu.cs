using System.Numerics.Tensors;

namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public (Tensor Loss, Tensor LogProbs) CrossEntropyForward(Tensor logits, int[] targets, float labelSmoothing)
    {
        CrossEntropyChecks.Forward(logits, targets, labelSmoothing);
        return CrossEntropyKernels.Forward(logits, targets, labelSmoothing);
    }

    /// <inheritdoc/>
    public Tensor CrossEntropyBackward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss)
    {
        CrossEntropyChecks.Backward(logProbs, targets);
        return CrossEntropyKernels.Backward(logProbs, targets, labelSmoothing, gradLoss);
    }
}

// Cross-entropy on the CPU log-softmax; the formulas are on IBackend.CrossEntropyForward / CrossEntropyBackward.
internal static class CrossEntropyKernels
{
    public static (Tensor Loss, Tensor LogProbs) Forward(Tensor logits, int[] targets, float labelSmoothing)
    {
        int n = logits.Shape[0], k = logits.Shape[1];
        var lp = SoftmaxKernels.Forward(logits, 1, log: true);
        var ld = CpuBackend.Data(lp);
        double total = 0, eps = labelSmoothing;
        for (int i = 0; i < n; i++)
        {
            var row = new ReadOnlySpan<float>(ld, i * k, k);
            double l = -(1 - eps) * row[targets[i]];
            if (eps != 0) l -= eps / k * TensorPrimitives.Sum(row);
            total += l;
        }
        return (Tensor.Scalar((float)(total / n)), lp);
    }

    public static Tensor Backward(Tensor logProbs, int[] targets, float labelSmoothing, Tensor gradLoss)
    {
        logProbs = logProbs.Contiguous();
        int n = logProbs.Shape[0], k = logProbs.Shape[1];
        float g = gradLoss.Item() / Math.Max(1, n);
        var dx = Tensor.Empty(n, k);
        float[] ld = CpuBackend.Data(logProbs), dd = CpuBackend.Data(dx);
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
