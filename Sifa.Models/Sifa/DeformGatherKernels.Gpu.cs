using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Models;

/// <summary>
/// ILGPU kernels of the bilinear deformable gather (the maths of <see cref="DeformGatherKernels"/>): one thread per
/// (image b, neighbour j, row y, column x). The backward scatters into the image with atomic adds.
/// </summary>
internal static class DeformGatherGpuKernels
{
    // The SIFA kernels' tap arithmetic serves here too: a gather of B images has SIFA's geometry with T = 1.
    internal static SifaGpuKernels.Args ArgsOf(DeformGatherShape g) =>
        new(new SifaShape(g.B, 1, g.C, g.H, g.W, g.K, g.Dilation, 1, false, false));

    /// <summary>out (B, C, P, H, W) = bilinear samples of img (B, C, H, W).</summary>
    public static void Forward(Index1D i, ArrayView<float> img, ArrayView<float> offsets, ArrayView<float> output, SifaGpuKernels.Args s)
    {
        int hw = s.HW, P = s.P;
        int pix = i % hw, j = i / hw % P, b = i / (hw * P);
        var t = s.Taps(offsets, b, j, pix / s.W, pix % s.W);
        for (int c = 0; c < s.C; c++)
            output[((b * s.C + c) * P + j) * hw + pix] = SifaGpuKernels.Args.Sample(img, (b * s.C + c) * hw, t);
    }

    /// <summary>dImg (zeroed before) += scattered dOut; dOffsets = Σ_c dOut·∂bilinear/∂(py, px).</summary>
    public static void Backward(Index1D i, ArrayView<float> dOut, ArrayView<float> img, ArrayView<float> offsets,
        ArrayView<float> dImg, ArrayView<float> dOffsets, SifaGpuKernels.Args s)
    {
        int hw = s.HW, P = s.P;
        int pix = i % hw, j = i / hw % P, b = i / (hw * P);
        var t = s.Taps(offsets, b, j, pix / s.W, pix % s.W);
        float gy = 0, gx = 0;
        for (int c = 0; c < s.C; c++)
        {
            int plane = (b * s.C + c) * hw;
            SifaGpuKernels.Args.Scatter(img, dImg, plane, t, dOut[((b * s.C + c) * P + j) * hw + pix], ref gy, ref gx);
        }
        int o = (b * 2 * P + 2 * j) * hw + pix;
        dOffsets[o] = gy;
        dOffsets[o + hw] = gx;
    }
}
