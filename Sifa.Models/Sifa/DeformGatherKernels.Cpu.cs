using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using Sifa.Tensors.Cpu;

namespace Sifa.Models;

/// <summary>
/// The four bilinear taps of one sampling position (py, px) in an H×W frame with zero padding
/// (SPEC section 3, step 2; identical to torchvision's <c>deform_conv2d</c> sampling):
/// <code>
///   y0 = ⌊py⌋, x0 = ⌊px⌋, ly = py - y0, lx = px - x0
///   v(py, px) = (1-ly)(1-lx)·v[y0,x0] + (1-ly)·lx·v[y0,x0+1] + ly(1-lx)·v[y0+1,x0] + ly·lx·v[y0+1,x0+1]
/// </code>
/// where every tap outside [0,H)×[0,W) reads 0. The derivative with respect to the position keeps ⌊·⌋ fixed:
/// <code>
///   ∂v/∂py = (1-lx)(v10 - v00) + lx(v11 - v01),   ∂v/∂px = (1-ly)(v01 - v00) + ly(v11 - v10)
/// </code>
/// (at an integral position, ly = 0, this is the forward difference v(y+1) - v(y)).
/// Tap order: 0 = (y0,x0), 1 = (y0,x0+1), 2 = (y0+1,x0), 3 = (y0+1,x0+1).
/// A tap outside the frame has index 0, weight 0 and its bit clear in <see cref="Mask"/>.
/// </summary>
internal struct BilinearTaps
{
    /// <summary>Pixel index y·W + x of tap 0 (0 when outside).</summary>
    public int I0;
    /// <summary>Pixel index of tap 1.</summary>
    public int I1;
    /// <summary>Pixel index of tap 2.</summary>
    public int I2;
    /// <summary>Pixel index of tap 3.</summary>
    public int I3;
    /// <summary>Bilinear weight of tap 0 (0 when outside).</summary>
    public float W0;
    /// <summary>Weight of tap 1.</summary>
    public float W1;
    /// <summary>Weight of tap 2.</summary>
    public float W2;
    /// <summary>Weight of tap 3.</summary>
    public float W3;
    /// <summary>Fractional row part ly = py - ⌊py⌋.</summary>
    public float Ly;
    /// <summary>Fractional column part lx = px - ⌊px⌋.</summary>
    public float Lx;
    /// <summary>Bit t set when tap t lies inside the frame.</summary>
    public int Mask;

    /// <summary>Computes the taps of position (py, px); the position arithmetic is done in double so that
    /// ⌊·⌋ is decided exactly as by a float64 reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BilinearTaps At(double py, double px, int h, int w)
    {
        BilinearTaps t = default;
        // Some tap is inside only when y0 ∈ [-1, H-1] and x0 ∈ [-1, W-1]; NaN fails the test too.
        // (py = -1 exactly still matters: its tap at row 0 has weight 0 but a non-zero derivative.)
        if (!(py >= -1 && py < h && px >= -1 && px < w)) return t;
        double fy = Math.Floor(py), fx = Math.Floor(px);
        int y0 = (int)fy, x0 = (int)fx;
        float ly = (float)(py - fy), lx = (float)(px - fx);
        t.Ly = ly;
        t.Lx = lx;
        bool vy0 = y0 >= 0, vy1 = y0 + 1 < h, vx0 = x0 >= 0, vx1 = x0 + 1 < w;
        int b = y0 * w + x0;
        if (vy0 && vx0) { t.I0 = b; t.W0 = (1 - ly) * (1 - lx); t.Mask |= 1; }
        if (vy0 && vx1) { t.I1 = b + 1; t.W1 = (1 - ly) * lx; t.Mask |= 2; }
        if (vy1 && vx0) { t.I2 = b + w; t.W2 = ly * (1 - lx); t.Mask |= 4; }
        if (vy1 && vx1) { t.I3 = b + w + 1; t.W3 = ly * lx; t.Mask |= 8; }
        return t;
    }

    /// <summary>∂(bilinear)/∂py as Σ_t cy_t·v_t: cy = (-(1-lx), -lx, 1-lx, lx), masked by validity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float DPy(float v0, float v1, float v2, float v3)
    {
        float s = 0;
        if ((Mask & 1) != 0) s -= (1 - Lx) * v0;
        if ((Mask & 2) != 0) s -= Lx * v1;
        if ((Mask & 4) != 0) s += (1 - Lx) * v2;
        if ((Mask & 8) != 0) s += Lx * v3;
        return s;
    }

    /// <summary>∂(bilinear)/∂px as Σ_t cx_t·v_t: cx = (-(1-ly), 1-ly, -ly, ly), masked by validity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float DPx(float v0, float v1, float v2, float v3)
    {
        float s = 0;
        if ((Mask & 1) != 0) s -= (1 - Ly) * v0;
        if ((Mask & 2) != 0) s += (1 - Ly) * v1;
        if ((Mask & 4) != 0) s -= Ly * v2;
        if ((Mask & 8) != 0) s += Ly * v3;
        return s;
    }
}

/// <summary>
/// CPU kernels of the bilinear deformable gather, the differentiable building block of deformable
/// convolution (and of the SIFA op's key sampling). All arrays are contiguous, row-major:
/// image (B, C, H, W), offsets (B, 2P, H, W), gathered output (B, C, P, H, W) with P = k².
/// <para>
/// Sampling position of neighbour j = a·k + b (a, b ∈ [0, k), r = (k-1)/2) for output pixel (y, x):
/// <c>py = y + (a-r)·d + o[2j](y,x)</c>, <c>px = x + (b-r)·d + o[2j+1](y,x)</c>, and
/// <c>out[c, j](y,x) = bilinear(img[c], py, px)</c> with zero padding (see the tap formulas on the
/// internal <c>BilinearTaps</c> helper: four integer neighbours, out-of-frame taps read 0, position
/// derivative with ⌊·⌋ held fixed).
/// </para>
/// </summary>
internal static unsafe class DeformGatherKernels
{
    /// <summary>
    /// Forward gather: <c>out[b, c, j, y, x] = bilinear(img[b, c], py_j(y,x), px_j(y,x))</c>.
    /// </summary>
    /// <param name="img">Image (B, C, H, W).</param>
    /// <param name="offsets">Offsets (B, 2k², H, W); channel 2j is the row offset of neighbour j, 2j+1 the column offset.</param>
    /// <param name="output">Gathered values (B, C, k², H, W); overwritten.</param>
    /// <param name="batch">B.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="k">Odd kernel size.</param>
    /// <param name="dilation">Grid dilation d ≥ 1.</param>
    public static void Forward(ReadOnlySpan<float> img, ReadOnlySpan<float> offsets, Span<float> output,
        int batch, int channels, int height, int width, int k, int dilation)
    {
        Check(batch, channels, height, width, k, dilation);
        int hw = height * width, p = k * k;
        RequireLength(img.Length, (long)batch * channels * hw, nameof(img));
        RequireLength(offsets.Length, (long)batch * 2 * p * hw, nameof(offsets));
        RequireLength(output.Length, (long)batch * channels * p * hw, nameof(output));
        if (output.Length == 0) return;
        fixed (float* pi = img, po = offsets, pout = output)
        {
            var g = new Geometry(pi, po, height, width, k, dilation);
            float* outp = pout;
            long work = (long)batch * channels * p * hw * 4;
            int units = batch * channels;
            int chunks = work < 32_768 ? 1 : Math.Min(units, Math.Max(1, CpuParallel.Threads) * 4);
            CpuParallel.For(chunks, ci =>
            {
                int s = (int)((long)units * ci / chunks), e = (int)((long)units * (ci + 1) / chunks);
                var table = new BilinearTaps[hw];
                // Walk the (b, c) range grouped by b: the tap table of (b, j) is built once and reused
                // for every channel of the chunk (positions do not depend on c).
                for (int u = s; u < e;)
                {
                    int b = u / channels, c0 = u % channels;
                    int c1 = Math.Min(channels, c0 + (e - u));
                    for (int j = 0; j < p; j++)
                    {
                        g.BuildTable(b, j, table);
                        for (int c = c0; c < c1; c++)
                        {
                            float* plane = g.Img + ((long)b * channels + c) * hw;
                            float* o = outp + (((long)b * channels + c) * p + j) * hw;
                            for (int q = 0; q < hw; q++)
                            {
                                ref readonly BilinearTaps t = ref table[q];
                                // Out-of-frame taps have weight 0 and index 0 (the reference's clamped gather × 0).
                                o[q] = t.W0 * plane[t.I0] + t.W1 * plane[t.I1] + t.W2 * plane[t.I2] + t.W3 * plane[t.I3];
                            }
                        }
                    }
                    u += c1 - c0;
                }
            }, work);
        }
    }

    /// <summary>
    /// Backward of <see cref="Forward"/> for the loss L with <c>dOut = ∂L/∂out</c>:
    /// <code>
    ///   dImg[b, c](tap_t) += w_t · dOut[b, c, j](y, x)                           (scatter, per valid tap)
    ///   dOff[b, 2j](y, x)   = Σ_c dOut[b, c, j](y, x) · ∂bilinear(img[b, c])/∂py
    ///   dOff[b, 2j+1](y, x) = Σ_c dOut[b, c, j](y, x) · ∂bilinear(img[b, c])/∂px
    /// </code>
    /// Both outputs are overwritten. Parallel over (batch, channel chunk): each image plane is scattered into by
    /// one worker only; the offset gradient, a sum over channels, is accumulated per chunk and then reduced.
    /// </summary>
    /// <param name="dOut">Cotangent of the output (B, C, k², H, W).</param>
    /// <param name="img">Image (B, C, H, W).</param>
    /// <param name="offsets">Offsets (B, 2k², H, W).</param>
    /// <param name="dImg">Gradient w.r.t. the image (B, C, H, W); overwritten.</param>
    /// <param name="dOffsets">Gradient w.r.t. the offsets (B, 2k², H, W); overwritten.</param>
    /// <param name="batch">B.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="k">Odd kernel size.</param>
    /// <param name="dilation">Grid dilation d ≥ 1.</param>
    public static void Backward(ReadOnlySpan<float> dOut, ReadOnlySpan<float> img, ReadOnlySpan<float> offsets,
        Span<float> dImg, Span<float> dOffsets, int batch, int channels, int height, int width, int k, int dilation)
    {
        Check(batch, channels, height, width, k, dilation);
        int hw = height * width, p = k * k;
        RequireLength(dOut.Length, (long)batch * channels * p * hw, nameof(dOut));
        RequireLength(img.Length, (long)batch * channels * hw, nameof(img));
        RequireLength(offsets.Length, (long)batch * 2 * p * hw, nameof(offsets));
        RequireLength(dImg.Length, (long)batch * channels * hw, nameof(dImg));
        RequireLength(dOffsets.Length, (long)batch * 2 * p * hw, nameof(dOffsets));
        dImg.Clear();
        dOffsets.Clear();
        if (hw == 0 || batch == 0) return;
        long work = (long)batch * channels * p * hw * 8;
        int threads = Math.Max(1, CpuParallel.Threads);
        // Channel chunks per image: 1 when there are enough images to keep every core busy.
        int cpi = work < 32_768 || batch >= 2 * threads || channels == 0 ? 1 : Math.Min(channels, (2 * threads + batch - 1) / batch);
        int units = batch * cpi;
        long offLen = (long)2 * p * hw;
        float[]? partial = cpi > 1 ? new float[units * offLen] : null;
        fixed (float* pd = dOut, pi = img, po = offsets, pdi = dImg, pdo = dOffsets, ppart = partial)
        {
            var g = new Geometry(pi, po, height, width, k, dilation);
            float* dout = pd, dimg = pdi, doff = pdo, part = ppart;
            CpuParallel.For(units, u =>
            {
                int b = u / cpi, ch = u % cpi;
                int c0 = (int)((long)channels * ch / cpi), c1 = (int)((long)channels * (ch + 1) / cpi);
                float* acc = cpi > 1 ? part + u * offLen : doff + b * offLen;
                var table = new BilinearTaps[hw];
                for (int j = 0; j < p; j++)
                {
                    g.BuildTable(b, j, table);
                    float* accY = acc + (2L * j) * hw, accX = acc + (2L * j + 1) * hw;
                    for (int c = c0; c < c1; c++)
                    {
                        float* plane = g.Img + ((long)b * channels + c) * hw;
                        float* gplane = dimg + ((long)b * channels + c) * hw;
                        float* go = dout + (((long)b * channels + c) * p + j) * hw;
                        for (int q = 0; q < hw; q++)
                        {
                            float gv = go[q];
                            ref readonly BilinearTaps t = ref table[q];
                            if (t.Mask == 0 || gv == 0) continue;
                            float v0 = plane[t.I0], v1 = plane[t.I1], v2 = plane[t.I2], v3 = plane[t.I3];
                            if ((t.Mask & 1) != 0) gplane[t.I0] += t.W0 * gv;
                            if ((t.Mask & 2) != 0) gplane[t.I1] += t.W1 * gv;
                            if ((t.Mask & 4) != 0) gplane[t.I2] += t.W2 * gv;
                            if ((t.Mask & 8) != 0) gplane[t.I3] += t.W3 * gv;
                            accY[q] += gv * t.DPy(v0, v1, v2, v3);
                            accX[q] += gv * t.DPx(v0, v1, v2, v3);
                        }
                    }
                }
            }, work);
            if (cpi > 1)
            {
                // Reduce the per-chunk offset gradients: dOff[b] = Σ_chunks partial[b, chunk].
                CpuParallel.For(batch, b =>
                {
                    float* dst = doff + b * offLen;
                    for (int ch = 0; ch < cpi; ch++)
                    {
                        float* src = part + ((long)b * cpi + ch) * offLen;
                        for (long i = 0; i < offLen; i++) dst[i] += src[i];
                    }
                }, (long)units * offLen);
            }
        }
    }

    private static void Check(int batch, int channels, int height, int width, int k, int dilation)
    {
        if (batch < 0 || channels < 0 || height < 0 || width < 0)
            throw new ArgumentException($"negative size: batch {batch}, channels {channels}, height {height}, width {width}");
        if (k < 1 || k % 2 == 0) throw new ArgumentException($"kernel size k must be odd and positive, got {k}");
        if (dilation < 1) throw new ArgumentException($"dilation must be positive, got {dilation}");
    }

    internal static void RequireLength(int actual, long expected, string name)
    {
        if (actual != expected) throw new ArgumentException($"{name} has {actual} elements, expected {expected}", name);
    }

    /// <summary>Pointers and sizes shared by the gather loops.</summary>
    private readonly struct Geometry
    {
        public readonly float* Img;
        private readonly float* off;
        private readonly int height, width, k, dilation;

        public Geometry(float* img, float* offsets, int height, int width, int k, int dilation)
        {
            Img = img;
            off = offsets;
            this.height = height;
            this.width = width;
            this.k = k;
            this.dilation = dilation;
        }

        /// <summary>Fills <paramref name="table"/>[y·W + x] with the taps of neighbour j of image b.</summary>
        public void BuildTable(int b, int j, BilinearTaps[] table)
        {
            int hw = height * width, p = k * k, r = (k - 1) / 2;
            double da = (j / k - r) * dilation, db = (j % k - r) * dilation;
            float* oy = off + ((long)b * 2 * p + 2 * j) * hw, ox = oy + hw;
            for (int y = 0, q = 0; y < height; y++)
                for (int x = 0; x < width; x++, q++)
                    table[q] = BilinearTaps.At(y + da + oy[q], x + db + ox[q], height, width);
        }
    }
}
