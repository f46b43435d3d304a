namespace Sifa.Tensors;

/// <summary>
/// The seam between tensors and hardware: every primitive that touches values goes through the
/// backend of the tensor's device. The interface is split over files by op family (partial).
/// </summary>
public partial interface IBackend
{
    /// <summary>The device this backend computes on.</summary>
    Device Device { get; }

    /// <summary>Allocates a buffer of <paramref name="length"/> floats.</summary>
    /// <param name="length">Number of floats.</param>
    /// <param name="zero">Whether the values must be zero.</param>
    /// <returns>The storage.</returns>
    Storage Allocate(int length, bool zero);

    /// <summary>Copies host values into a new storage on this device.</summary>
    /// <param name="data">The values.</param>
    /// <returns>The storage.</returns>
    Storage FromHost(ReadOnlySpan<float> data);

    /// <summary>Copies a tensor's values (any layout) to host memory in row-major order.</summary>
    /// <param name="src">The tensor.</param>
    /// <param name="dst">The destination, <c>src.Numel</c> long.</param>
    void CopyToHost(Tensor src, Span<float> dst);

    /// <summary>Copies <paramref name="src"/> into <paramref name="dst"/> (same shape, any strides).</summary>
    /// <param name="src">The source.</param>
    /// <param name="dst">The destination.</param>
    void Copy(Tensor src, Tensor dst);

    /// <summary>Sets every element of <paramref name="dst"/> to <paramref name="value"/>.</summary>
    /// <param name="dst">The tensor.</param>
    /// <param name="value">The value.</param>
    void Fill(Tensor dst, float value);
}
