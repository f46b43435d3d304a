namespace Sifa.Tensors;

/// <summary>Views a dense shape as (outer, size of dim, inner): the layout the per-dim kernels (softmax, indexing) work in.</summary>
internal static class ShapeSplit
{
    public static (int Outer, int N, int Inner) AroundDim(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        return (outer, shape[dim], inner);
    }
}
