using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>
/// A loss, gradient or weight is NaN or infinite: training diverged at a step (the message names the epoch, the step
/// and the first parameter whose gradient is not finite), or a checkpoint holds non-finite weights (the message names
/// the file and key).
/// </summary>
public sealed class NonFiniteException : SifaException
{
    /// <summary>Creates the error.</summary>
    public NonFiniteException(string message) : base(message) { }
}
