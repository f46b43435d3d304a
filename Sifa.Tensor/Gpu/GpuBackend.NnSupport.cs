using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Small launch helpers shared by the NN ops' GPU files (Ops/Conv2d, BatchNorm, LayerNorm, CrossEntropy, MaxPool2d).
public sealed partial class GpuBackend
{
    /// <summary>
    /// The view of an optional tensor (made contiguous), or <paramref name="absent"/> when it is null: kernels take a
    /// view for every operand and read an optional one only when its flag says it is there.
    /// </summary>
    private ArrayView<float> ViewOr(Tensor? t, ArrayView<float> absent) => t == null ? absent : View(t);

    /// <summary>A launch of one group per item (channel, row) with a power-of-two group sized for <paramref name="perGroup"/> values.</summary>
    private KernelConfig ReduceConfig(int groups, long perGroup) =>
        new(new Index1D(groups), new Index1D(GroupSums.GroupSize(MaxGroupSize, Accelerator.WarpSize, perGroup)));

    /// <summary>
    /// Returns a scratch tensor's buffer to the cache now instead of at collection. Safe right after queuing the
    /// kernels that use it: every later use of the buffer is queued behind them on the same stream.
    /// </summary>
    private static void Release(Tensor scratch) => scratch.Storage.Release();

    /// <summary>Copies an updated contiguous stand-in back into the caller's tensor when they differ (in-place ops on strided tensors).</summary>
    private void WriteBack(Tensor? updated, Tensor? original)
    {
        if (updated == null || original == null || ReferenceEquals(updated, original)) return;
        Copy(updated, original);
        Release(updated);
    }

    /// <summary>Host int values on the device, bit-cast into a float buffer (the caching allocator holds floats only).</summary>
    private (Tensor Holder, ArrayView<int> View) UploadInts(int[] values)
    {
        var t = new Tensor(FromHost(System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(values)), [values.Length], [1]);
        return (t, View(t).Cast<int>());
    }
}
