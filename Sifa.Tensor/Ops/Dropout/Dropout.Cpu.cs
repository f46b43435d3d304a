namespace Sifa.Tensors.Cpu;

// Random masks for dropout and stochastic depth, drawn on the host in row-major order.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor BernoulliMask(int[] shape, float keepProb, float scale, Generator generator)
    {
        var a = GC.AllocateUninitializedArray<float>(Tensor.NumelOf(shape));
        if (keepProb >= 1f) { a.AsSpan().Fill(scale); return Tensor.FromArray(a, shape); }
        if (keepProb <= 0f) { Array.Clear(a); return Tensor.FromArray(a, shape); }
        ulong threshold = BernoulliMaskMath.Threshold(keepProb);
        int i = 0;
        for (; i + 1 < a.Length; i += 2)
        {
            ulong r = generator.NextUInt64();
            a[i] = (r & 0xFFFFFFFFUL) < threshold ? scale : 0f;
            a[i + 1] = (r >> 32) < threshold ? scale : 0f;
        }
        if (i < a.Length) a[i] = (generator.NextUInt64() & 0xFFFFFFFFUL) < threshold ? scale : 0f;
        return Tensor.FromArray(a, shape);
    }
}
