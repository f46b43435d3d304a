using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>Sizes of one max-pooling call over Planes = N·C planes of H×W.</summary>
internal struct MaxPool2dArgs
{
    public int Planes, H, W, Ho, Wo, Kh, Kw, Sh, Sw, Ph, Pw;
}

/// <summary>
/// Max-pooling kernels. Forward: a thread per output, the CPU's exact scan (row-major window, first maximum, NaN wins,
/// argmax stored as the float flat index ih·W + iw). Backward: a thread per plane adds its outputs' gradients in output
/// order, so overlapping windows accumulate deterministically and bit-identically to the CPU. The backward contract
/// carries no window geometry, which a per-input-pixel gather over the covering windows would need; with it, the
/// gather (a thread per input pixel, coalesced) is the obvious next speedup over this plane-serial pass.
/// </summary>
internal static class MaxPool2dGpuKernels
{
    public static void Forward(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices, MaxPool2dArgs a)
    {
        int oplane = a.Ho * a.Wo;
        int p = i / oplane, o = i - p * oplane;
        int oh = o / a.Wo, ow = o - oh * a.Wo;
        int hs = oh * a.Sh - a.Ph, ws = ow * a.Sw - a.Pw;
        int h0 = Math.Max(hs, 0), h1 = Math.Min(hs + a.Kh, a.H);
        int w0 = Math.Max(ws, 0), w1 = Math.Min(ws + a.Kw, a.W);
        int xp = p * a.H * a.W;
        float best = float.NegativeInfinity;
        int bi = h0 * a.W + w0;
        for (int ih = h0; ih < h1; ih++)
            for (int iw = w0; iw < w1; iw++)
            {
                float v = x[xp + ih * a.W + iw];
                if (v > best || float.IsNaN(v))
                {
                    best = v;
                    bi = ih * a.W + iw;
                }
            }
        y[i] = best;
        indices[i] = bi;
    }

    /// <summary>Thread per plane: dx = 0, then dx[argmax] += dy in output order (indices outside the plane are skipped).</summary>
    public static void BackwardPlanes(Index1D p, ArrayView<float> dy, ArrayView<float> indices, ArrayView<float> dx, MaxPool2dArgs a)
    {
        int plane = a.H * a.W, oplane = a.Ho * a.Wo;
        int db = p * plane, gb = p * oplane;
        for (int q = 0; q < plane; q++) dx[db + q] = 0f;
        for (int j = 0; j < oplane; j++)
        {
            int k = (int)indices[gb + j];
            if (k >= 0 && k < plane) dx[db + k] += dy[gb + j];
        }
    }
}
