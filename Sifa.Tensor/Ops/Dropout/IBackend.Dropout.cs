namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// A random mask on this device whose elements are <paramref name="scale"/> with probability <paramref name="keepProb"/>
    /// and 0 otherwise. Drawn from <paramref name="generator"/> in row-major order, so a seed gives the same mask on every device
    /// (see <see cref="BernoulliMaskMath"/> for the draw).
    /// </summary>
    /// <param name="shape">The mask shape.</param>
    /// <param name="keepProb">Probability of keeping an element.</param>
    /// <param name="scale">The value of a kept element (1/keepProb for inverted dropout).</param>
    /// <param name="generator">The random generator.</param>
    /// <returns>The mask.</returns>
    Tensor BernoulliMask(int[] shape, float keepProb, float scale, Generator generator);
}
