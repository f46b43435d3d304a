using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// One scratch buffer per thread for kernels (im2col columns and the like): allocated on the pinned heap and grown on
/// demand, so hot loops neither allocate nor need to pin.
/// </summary>
internal static unsafe class PinnedThreadBuffer
{
    [ThreadStatic] private static float[]? _buffer;
    [ThreadStatic] private static float[]? _second;

    /// <summary>A pinned buffer of at least <paramref name="length"/> floats owned by the calling thread (contents undefined).
    /// Valid until the next call on the same thread.</summary>
    public static float* Get(long length) => Grow(ref _buffer, length);

    /// <summary>A second such buffer, independent of <see cref="Get"/>'s, for a kernel that needs two at once.</summary>
    public static float* GetSecond(long length) => Grow(ref _second, length);

    private static float* Grow(ref float[]? buffer, long length)
    {
        var a = buffer;
        if (a == null || a.Length < length)
        {
            long want = Math.Max(length, (long)((a?.Length ?? 0) * 1.25));
            if (want > Array.MaxLength) want = length;
            buffer = null; // drop the old one before allocating the new
            a = buffer = GC.AllocateUninitializedArray<float>(checked((int)want), pinned: true);
        }
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
    }
}
