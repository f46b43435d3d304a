using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// Layer normalisation over the last dim on the GPU (LayerNormGpuKernels).
public sealed partial class GpuBackend
{
    // Rows per thread in the first level of the dweight/dbias column sums: enough work per thread, and enough
    // chunks × columns to fill the device.
    private const int LayerNormParamChunk = 64;

    /// <inheritdoc/>
    public (Tensor Output, Tensor Mean, Tensor InvStd) LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, float eps)
    {
        int d = LayerNormChecks.Forward(x, weight, bias);
        Tensor? w = weight?.Contiguous(), b = bias?.Contiguous();
        x = x.Contiguous();
        int rows = d == 0 ? 0 : x.Numel / d;
        var y = Empty(x.Shape);
        var mean = Empty(x.Shape[..^1]);
        var inv = Empty(x.Shape[..^1]);
        if (rows == 0) return (y, mean, inv);
        var a = new LayerNormArgs { Rows = rows, D = d, Eps = eps, HasWeight = w != null ? 1 : 0, HasBias = b != null ? 1 : 0 };
        var xv = View(x);
        GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormArgs>(
            LayerNormGpuKernels.Forward)(Stream, ReduceConfig(rows, d), xv, ViewOr(w, xv), ViewOr(b, xv), View(y), View(mean), View(inv), a);
        return (y, mean, inv);
    }

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) LayerNormBackward(Tensor dy, Tensor x, Tensor? weight, Tensor mean, Tensor invStd,
        bool needInput, bool needWeight, bool needBias)
    {
        LayerNormChecks.Backward(dy, x);
        int d = x.Shape[^1];
        int rows = d == 0 ? 0 : x.Numel / d;
        var w = weight?.Contiguous();
        x = x.Contiguous(); dy = dy.Contiguous(); mean = mean.Contiguous(); invStd = invStd.Contiguous();
        var dx = needInput ? Empty(x.Shape) : null;
        var dw = needWeight ? Empty(d) : null;
        var db = needBias ? Empty(d) : null;
        if (rows == 0)
        {
            dw?.Fill_(0f);
            db?.Fill_(0f);
            return (dx, dw, db);
        }
        var a = new LayerNormArgs
        {
            Rows = rows, D = d, HasWeight = w != null ? 1 : 0,
            NeedWeight = needWeight ? 1 : 0, NeedBias = needBias ? 1 : 0, Chunk = LayerNormParamChunk,
        };
        ArrayView<float> xv = View(x), gv = View(dy), mv = View(mean), iv = View(invStd);
        if (dx != null)
            GroupedKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormArgs>(
                LayerNormGpuKernels.BackwardInput)(Stream, ReduceConfig(rows, d), gv, xv, ViewOr(w, xv), mv, iv, View(dx), a);
        if (dw != null || db != null)
        {
            var pw = Empty(a.Chunks, d);
            var pb = Empty(a.Chunks, d);
            Kernel<Index2D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormArgs>(
                LayerNormGpuKernels.ParamPartials)(Stream, new Index2D(d, a.Chunks), gv, xv, mv, iv, View(pw), View(pb), a);
            Kernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LayerNormArgs>(
                LayerNormGpuKernels.ParamTotals)(Stream, d, View(pw), View(pb), ViewOr(dw, xv), ViewOr(db, xv), a);
            Release(pw);
            Release(pb);
        }
        return (dx, dw, db);
    }
}
