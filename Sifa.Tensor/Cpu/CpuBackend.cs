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
    public Storage Allocate(int length, bool zero)
    {
        if (length >= BufferPool.MinFloats && BufferPool.MaxPooledBytes > 0 && TensorScope.Current is { } scope)
        {
            var data = BufferPool.TryRent(length);
            long fresh = 0;
            if (data == null) { data = GC.AllocateUninitializedArray<float>(length); fresh = 4L * length; }
            if (zero) Array.Clear(data);
            var pooled = new CpuStorage(data);
            scope.Track(pooled, new PooledArray(data), fresh);
            return pooled;
        }
        if (length >= LargeArray) CountLarge(length);
        return new CpuStorage(zero ? new float[length] : GC.AllocateUninitializedArray<float>(length));
    }

    // Arrays of at least this many floats (1 MiB) count towards the large-allocation budget.
    private const int LargeArray = 1 << 18;
    private static long _largeBytes;

    /// <summary>
    /// Bytes of large tensor arrays allocated between two forced collections (environment variable
    /// <c>SIFA_GC_BUDGET_MB</c>; default 0: off, the runtime's own policy decides). Training allocates activation-sized arrays on the large-object heap, whose
    /// own collection budget lets dead activations pile up to several times the live set; collecting after a fixed amount of
    /// large allocations keeps the peak working set close to the live set, at the cost of a cheap blocking collection
    /// (few objects, no compaction).
    /// </summary>
    public static long GcBudgetBytes { get; set; } =
        (long.TryParse(Environment.GetEnvironmentVariable("SIFA_GC_BUDGET_MB"), out var mb) ? mb : 0) << 20;

    private static void CountLarge(int length)
    {
        long budget = GcBudgetBytes;
        if (budget <= 0) return;
        if (Interlocked.Add(ref _largeBytes, 4L * length) < budget) return;
        Interlocked.Exchange(ref _largeBytes, 0);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
    }

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

// Registers the CPU backend when Sifa.Tensor loads, so the seam (Backends) never names it. A module initializer in a
// library is what CA2255 warns about; here it is the point: registration must not depend on which type is touched first.
internal static class CpuBackendRegistration
{
#pragma warning disable CA2255
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => Backends.Register(new CpuBackend());
}
