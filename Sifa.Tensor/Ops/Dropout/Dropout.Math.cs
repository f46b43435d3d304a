namespace Sifa.Tensors;

/// <summary>
/// How <see cref="IBackend.BernoulliMask"/> turns random bits into mask elements, so every device draws the same mask:
/// each 64-bit draw of the generator gives two 32-bit uniforms u (low half for the even element, high half for the odd
/// one; a last odd element uses the low half of one more draw), and an element is kept when u &lt; threshold.
/// </summary>
internal static class BernoulliMaskMath
{
    /// <summary>The 32-bit threshold below which a uniform keeps its element: round(keepProb·2³²).</summary>
    public static ulong Threshold(float keepProb) => (ulong)Math.Round((double)keepProb * 4294967296.0);
}
