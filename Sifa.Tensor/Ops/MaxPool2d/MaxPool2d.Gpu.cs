using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// 2-D max pooling on the GPU (MaxPool2dGpuKernels).
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public (Tensor Output, Tensor Indices) MaxPool2dForward(Tensor x, Pool2dGeometry geometry)
    {
        var g = geometry;
        g.Validate(x.Shape);
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ho = g.OutH(h), wo = g.OutW(w);
        x = x.Contiguous();
        var y = Empty(n, c, ho, wo);
        var idx = Empty(n, c, ho, wo);
        if (y.Numel == 0) return (y, idx);
        var a = new MaxPool2dArgs
        {
            Planes = n * c, H = h, W = w, Ho = ho, Wo = wo,
            Kh = g.KernelH, Kw = g.KernelW, Sh = g.StrideH, Sw = g.StrideW, Ph = g.PadH, Pw = g.PadW,
        };
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, MaxPool2dArgs>(MaxPool2dGpuKernels.Forward)(
            Stream, y.Numel, View(x), View(y), View(idx), a);
        return (y, idx);
    }

    /// <inheritdoc/>
    public Tensor MaxPool2dBackward(Tensor dy, Tensor indices, int[] inputShape)
    {
        Pool2dGeometry.ValidateGradient(dy.Shape, indices.Shape, inputShape);
        dy = dy.Contiguous(); indices = indices.Contiguous();
        var dx = Empty(inputShape);
        int planes = inputShape[0] * inputShape[1];
        if (dx.Numel == 0) return dx;
        var a = new MaxPool2dArgs { Planes = planes, H = inputShape[2], W = inputShape[3], Ho = dy.Shape[2], Wo = dy.Shape[3] };
        Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, MaxPool2dArgs>(MaxPool2dGpuKernels.BackwardPlanes)(
            Stream, planes, View(dy), View(indices), View(dx), a);
        return dx;
    }
}
