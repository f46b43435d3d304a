namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>Softmax (or log-softmax) along a dimension, max-subtracted.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">The (normalised) dimension.</param>
    /// <param name="log">Return log-softmax.</param>
    /// <returns>The dense result.</returns>
    Tensor SoftmaxForward(Tensor x, int dim, bool log);

    /// <summary>Gradient of <see cref="SoftmaxForward"/> from its output: softmax dx = y·(dy − Σ dy·y); log-softmax dx = dy − exp(y)·Σ dy.</summary>
    /// <param name="y">The forward output.</param>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="dim">The (normalised) dimension.</param>
    /// <param name="log">Whether the forward was log-softmax.</param>
    /// <returns>dx.</returns>
    Tensor SoftmaxBackward(Tensor y, Tensor dy, int dim, bool log);
}

/// <summary>The shape rules of softmax, checked here once for every backend (its kernels trust them).</summary>
internal static class SoftmaxChecks
{
    /// <summary>Checks a backward: the gradient has the output's shape.</summary>
    public static void Backward(Tensor y, Tensor dy)
    {
        if (!y.Shape.AsSpan().SequenceEqual(dy.Shape))
            throw new ArgumentException($"softmax backward: gradient {Tensor.Fmt(dy.Shape)} differs from the output {Tensor.Fmt(y.Shape)}");
    }
}
