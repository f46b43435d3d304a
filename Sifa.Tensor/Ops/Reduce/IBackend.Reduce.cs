namespace Sifa.Tensors;

/// <summary>Reductions the backends implement.</summary>
public enum ReduceKind
{
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>Arithmetic mean.</summary>
    Mean,
    /// <summary>Maximum.</summary>
    Max,
    /// <summary>Minimum.</summary>
    Min,
}

public partial interface IBackend
{
    /// <summary>Reduces over the given (normalised, distinct) dimensions.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dims">Dimensions to reduce.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    /// <param name="kind">The reduction.</param>
    /// <returns>The result.</returns>
    Tensor Reduce(Tensor x, int[] dims, bool keepDim, ReduceKind kind);

    /// <summary>Index of the maximum along one dimension (first on ties), as float values.</summary>
    /// <param name="x">Input.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="keepDim">Keep the dim as size 1.</param>
    /// <returns>The indices.</returns>
    Tensor ArgMax(Tensor x, int dim, bool keepDim);
}
