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

    /// <summary>A pinned buffer of at least <paramref name="length"/> floats owned by the calling thread (contents undefined).
    /// Valid until the next call on the same thread.</summary>
    public static float* Get(long length)
    {
        var a = _buffer;
        if (a == null || a.Length < length)
        {
            long want = Math.Max(length, (long)((a?.Length ?? 0) * 1.25));
            if (want > Array.MaxLength) want = length;
            _buffer = null; // drop the old one before allocating the new
            a = _buffer = GC.AllocateUninitializedArray<float>(checked((int)want), pinned: true);
        }
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
    }
}
