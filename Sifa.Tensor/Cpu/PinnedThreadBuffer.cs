using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sifa.Tensors.Cpu;

/// <summary>The independent scratch buffers a thread holds in <see cref="PinnedThreadBuffer"/>, named by their use.</summary>
internal enum ScratchSlot
{
    /// <summary>Unfolded columns, a padded image.</summary>
    Primary,

    /// <summary>A second operand alongside <see cref="Primary"/>: accumulator tiles, a transposed or gathered dY.</summary>
    Secondary,

    /// <summary>Weights packed for a whole operation, read by every core while it runs.</summary>
    PackedWeights,

    /// <summary>A weight-gradient accumulator that lives through all of a batch part's images.</summary>
    WeightGradient,
}

/// <summary>
/// Scratch buffers per thread for kernels (im2col columns and the like), one per <see cref="ScratchSlot"/>: allocated on
/// the pinned heap, 64-byte aligned and grown on demand, so hot loops neither allocate nor need to pin.
/// </summary>
internal static unsafe class PinnedThreadBuffer
{
    [ThreadStatic] private static float[]?[]? _buffers;

    /// <summary>
    /// A pinned, 64-byte aligned buffer of at least <paramref name="length"/> floats owned by the calling thread (contents
    /// undefined). Valid until the next call for the same slot on the same thread.
    /// </summary>
    public static float* Get(long length, ScratchSlot slot = ScratchSlot.Primary)
    {
        var buffers = _buffers ??= new float[]?[Enum.GetValues<ScratchSlot>().Length];
        ref var a = ref buffers[(int)slot];
        if (a == null || a.Length < length + 16)
        {
            long want = Math.Max(length + 16, (long)((a?.Length ?? 0) * 1.25));
            if (want > Array.MaxLength) want = length + 16;
            a = null; // drop the old one before allocating the new
            a = GC.AllocateUninitializedArray<float>(checked((int)want), pinned: true);
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
        return (float*)((p + 63) & ~(nint)63);
    }
}
