namespace Sifa.Tensors.Cpu;

/// <summary>The CPU backend: managed arrays, SIMD kernels through <c>TensorPrimitives</c> and intrinsics, both cores.</summary>
public sealed partial class CpuBackend : IBackend
{
    /// <inheritdoc/>
    public Device Device => Device.Cpu;

    internal static float[] Data(Tensor t) => t.Storage is CpuStorage s
        ? s.Data
        : throw new InvalidOperationException($"CPU kernel received a tensor on {t.Device}");

    /// <inheritdoc/>
    public Storage Allocate(int length, bool zero) =>
        new CpuStorage(zero ? new float[length] : GC.AllocateUninitializedArray<float>(length));

    /// <inheritdoc/>
    public Storage FromHost(ReadOnlySpan<float> data) => new CpuStorage(data.ToArray());

    /// <inheritdoc/>
    public void CopyToHost(Tensor src, Span<float> dst)
    {
        if (dst.Length != src.Numel) throw new ArgumentException("destination length differs from the tensor's element count");
        if (src.IsContiguous) { Data(src).AsSpan(src.Offset, src.Numel).CopyTo(dst); return; }
        var tmp = new float[src.Numel];
        Copy(src, Tensor.FromArray(tmp, src.Shape));
        tmp.CopyTo(dst);
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (!src.Shape.AsSpan().SequenceEqual(dst.Shape))
            throw new ArgumentException($"copy between shapes {Tensor.Fmt(src.Shape)} and {Tensor.Fmt(dst.Shape)}");
        var s = Data(src); var d = Data(dst);
        if (src.IsContiguous && dst.IsContiguous)
        {
            s.AsSpan(src.Offset, src.Numel).CopyTo(d.AsSpan(dst.Offset, dst.Numel));
            return;
        }
        var lay = new StridedLayout(src.Shape, src.Strides, dst.Strides);
        int inner = lay.Inner, si = lay.InnerStride(0), di = lay.InnerStride(1);
        int so0 = src.Offset, do0 = dst.Offset;
        CpuParallel.For(lay.Outer, r =>
        {
            int so = so0 + lay.RunOffset(0, r), dof = do0 + lay.RunOffset(1, r);
            if (si == 1 && di == 1) { s.AsSpan(so, inner).CopyTo(d.AsSpan(dof, inner)); return; }
            for (int i = 0; i < inner; i++) d[dof + i * di] = s[so + i * si];
        }, (long)src.Numel);
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, float value)
    {
        var d = Data(dst);
        if (dst.IsContiguous) { d.AsSpan(dst.Offset, dst.Numel).Fill(value); return; }
        var lay = new StridedLayout(dst.Shape, dst.Strides);
        int inner = lay.Inner, di = lay.InnerStride(0);
        for (int r = 0; r < lay.Outer; r++)
        {
            int o = dst.Offset + lay.RunOffset(0, r);
            for (int i = 0; i < inner; i++) d[o + i * di] = value;
        }
    }
}
