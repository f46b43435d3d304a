using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// 2-D convolution on the GPU as three implicit GEMMs (Conv2dGpuKernels): no im2col buffer, the whole batch in one launch.
public sealed partial class GpuBackend
{
    // The GEMM tile side: the largest power of two whose square fits in a group, at most Conv2dGpuKernels.MaxTile.
    private int ConvTile
    {
        get
        {
            int t = 1;
            while (t * 2 <= Conv2dGpuKernels.MaxTile && 4 * t * t <= MaxGroupSize) t *= 2;
            return t;
        }
    }

    // Problems up to this many multiply-adds keep the tiled kernel on the CPU accelerator too, so the tests (small
    // shapes) check it there; larger ones take the barrier-free kernel (see Conv2dGpuKernels.GemmDirect).
    internal const long TiledOnCpuAcceleratorUpTo = 1 << 16;

    private void ConvGemm<TGemm>(TGemm p, int groups, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias)
        where TGemm : struct, IImplicitGemm
    {
        if (!IsCuda && (long)p.Rows * p.Cols * p.Depth * groups > TiledOnCpuAcceleratorUpTo)
        {
            Kernel<Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TGemm>(Conv2dGpuKernels.GemmDirect)(
                Stream, new Index3D(p.Cols, p.Rows, groups), a, b, c, bias, p);
            return;
        }
        int t = ConvTile;
        var config = new KernelConfig(new Index3D((p.Cols + t - 1) / t, (p.Rows + t - 1) / t, groups), new Index3D(t, t, 1));
        GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TGemm>(Conv2dGpuKernels.Gemm)(
            Stream, config, a, b, c, bias, p);
    }

    /// <inheritdoc/>
    public Tensor Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry geometry)
    {
        geometry.Validate(x.Shape, weight.Shape, bias?.Shape);
        x = x.Contiguous(); weight = weight.Contiguous(); bias = bias?.Contiguous();
        var d = new ConvDims(x.Shape, weight.Shape, geometry, bias != null);
        var y = Empty(d.N, d.Cout, d.Ho, d.Wo);
        if (y.Numel == 0) return y;
        var xv = View(x);
        ConvGemm(new ConvForwardGemm { D = d }, geometry.Groups, View(weight), xv, View(y), ViewOr(bias, xv));
        return y;
    }

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) Conv2dBackward(Tensor dy, Tensor x, Tensor weight, Conv2dGeometry geometry,
        bool needInput, bool needWeight, bool needBias)
    {
        geometry.ValidateGradient(dy.Shape, x.Shape, weight.Shape);
        var d = new ConvDims(x.Shape, weight.Shape, geometry, hasBias: false);
        if (!needInput && !needWeight && !needBias) return (null, null, null);
        dy = dy.Contiguous(); x = x.Contiguous(); weight = weight.Contiguous();
        var dx = needInput ? Empty(x.Shape) : null;
        var dw = needWeight ? Empty(weight.Shape) : null;
        var db = needBias ? Empty(d.Cout) : null;
        ArrayView<float> xv = View(x), gv = View(dy), wv = View(weight);
        // An empty reduction (no batch, no channels) runs zero steps and stores zeros, as the CPU's sums give.
        if (dx != null && dx.Numel > 0)
            ConvGemm(new ConvInputGradGemm { D = d }, geometry.Groups, wv, gv, View(dx), xv);
        if (dw != null && dw.Numel > 0)
            ConvGemm(new ConvWeightGradGemm { D = d }, geometry.Groups, gv, xv, View(dw), xv);
        if (db != null && db.Numel > 0)
            GroupedKernel<ArrayView<float>, ArrayView<float>, ConvDims>(Conv2dGpuKernels.BiasGrad)(
                Stream, ReduceConfig(d.Cout, (long)d.N * d.P), gv, View(db), d);
        return (dx, dw, db);
    }
}
