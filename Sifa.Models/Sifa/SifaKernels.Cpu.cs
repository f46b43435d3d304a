using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Sifa.Tensors.Cpu;

namespace Sifa.Models;

/// <summary>
/// Fused CPU kernels of the SIFA op (paper section 3.1-3.2, SPEC section 3). For frame t of a clip, with
/// q = x_t(y,x) the query, next(t) the attended frame and r = (k-1)/2:
/// <code>
///   (1) py_j = y + (a-r)·d + o[2j],  px_j = x + (b-r)·d + o[2j+1]            j = a·k + b, P = k² neighbours
///   (2) K_j[c] = bilinear(x_next(t)[c], py_j, px_j)                           deformable keys (= values)
///   (3) S_{g,j} = (1/Cg) Σ_{c∈g} q[c]·K_j[c];  W_{g,j} = S_{g,j}, or softmax_j(S_{g,·})
///   (4) A[c] = Σ_j W_{g(c),j} · K_j[c]
///   (5) Y_t = x_t + A_t                        (A = 0 for the last frame when last_frame = none)
/// </code>
/// The kernels never materialise K for the whole tensor: per output pixel they compute the P sampling
/// positions once, gather the P key vectors of length C into a small per-thread buffer (P·C floats), and
/// use it for correlation and aggregation. To make every channel loop contiguous and SIMD-friendly, frames
/// are transposed once to HWC in a pooled scratch buffer. Only the normalised weights W are saved for backward;
/// backward regathers K.
/// </summary>
internal static unsafe class SifaKernels
{
    /// <summary>
    /// Forward pass: <c>y = x + A</c> and the normalised correlation weights W.
    /// </summary>
    /// <param name="x">Frame features (NT, C, H, W).</param>
    /// <param name="offsets">Sampling offsets (NT, 2k², H, W): channel 2j is the row offset of neighbour j, 2j+1 its column offset.</param>
    /// <param name="y">Output (NT, C, H, W); overwritten.</param>
    /// <param name="savedWeights">The weights W after normalisation, (NT, G, k², H, W); overwritten (zero for frames without A). Pass to <see cref="Backward"/>.</param>
    /// <param name="shape">Sizes and options.</param>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> offsets, Span<float> y, Span<float> savedWeights, in SifaShape shape)
    {
        SifaShape s = shape;
        s.Validate();
        DeformGatherKernels.RequireLength(x.Length, s.XLength, nameof(x));
        DeformGatherKernels.RequireLength(offsets.Length, s.OffsetsLength, nameof(offsets));
        DeformGatherKernels.RequireLength(y.Length, s.XLength, nameof(y));
        DeformGatherKernels.RequireLength(savedWeights.Length, s.WeightsLength, nameof(savedWeights));
        if (s.XLength == 0) { savedWeights.Clear(); return; }
        float[] xhArr = ArrayPool<float>.Shared.Rent(checked((int)s.XLength));
        try
        {
            fixed (float* px = x, po = offsets, py = y, pw = savedWeights, pxh = xhArr)
            {
                var ctx = new Ctx(s, px, po, pw, pxh);
                float* yp = py;
                ToHwc(ctx);
                long work = (long)s.NT * s.HW * s.P * s.C * 6;
                Run(s.NT * s.H, work, () => new Scratch(s), (row, sc) => ForwardRow(ctx, sc, row / s.H, row % s.H, yp));
            }
        }
        finally { ArrayPool<float>.Shared.Return(xhArr); }
    }

    /// <summary>
    /// Backward pass for the loss L with <c>dy = ∂L/∂y</c>. With dA = dy (0 for a frame without A):
    /// <code>
    ///   dW_{g,j}  = Σ_{c∈g} dA[c]·K_j[c]
    ///   dS_{g,j}  = dW_{g,j}                                   (normalize = none)
    ///             = W_{g,j}·(dW_{g,j} - Σ_i W_{g,i}·dW_{g,i})     (softmax)
    ///   dq[c]     = (1/Cg) Σ_j dS_{g,j}·K_j[c]                   → dx_t (query path)
    ///   dK_j[c]   = W_{g,j}·dA[c] + (1/Cg)·dS_{g,j}·q[c]
    ///   dx_next(t)[c](tap) += w_tap · dK_j[c]                    (bilinear scatter into the attended frame)
    ///   dOff[2j]   = Σ_c dK_j[c]·∂K_j[c]/∂py,   dOff[2j+1] = Σ_c dK_j[c]·∂K_j[c]/∂px
    ///   dx_t      += dy_t                                         (the residual Y = x + A)
    /// </code>
    /// The scatter is race-free: work is split into units of (frame, row chunk), each scattering into its own
    /// HWC buffer; a second pass adds the buffers into the attended frames (frame t receives from t-1, and the
    /// last frame also from itself when last_frame = self).
    /// </summary>
    /// <param name="dy">Cotangent of y (NT, C, H, W).</param>
    /// <param name="x">Frame features (NT, C, H, W), as given to <see cref="Forward"/>.</param>
    /// <param name="offsets">Offsets (NT, 2k², H, W), as given to <see cref="Forward"/>.</param>
    /// <param name="savedWeights">The weights saved by <see cref="Forward"/> (NT, G, k², H, W).</param>
    /// <param name="dx">Gradient w.r.t. x (NT, C, H, W); overwritten.</param>
    /// <param name="dOffsets">Gradient w.r.t. the offsets (NT, 2k², H, W); overwritten.</param>
    /// <param name="shape">Sizes and options.</param>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> offsets,
        ReadOnlySpan<float> savedWeights, Span<float> dx, Span<float> dOffsets, in SifaShape shape)
    {
        SifaShape s = shape;
        s.Validate();
        DeformGatherKernels.RequireLength(dy.Length, s.XLength, nameof(dy));
        DeformGatherKernels.RequireLength(x.Length, s.XLength, nameof(x));
        DeformGatherKernels.RequireLength(offsets.Length, s.OffsetsLength, nameof(offsets));
        DeformGatherKernels.RequireLength(savedWeights.Length, s.WeightsLength, nameof(savedWeights));
        DeformGatherKernels.RequireLength(dx.Length, s.XLength, nameof(dx));
        DeformGatherKernels.RequireLength(dOffsets.Length, s.OffsetsLength, nameof(dOffsets));
        if (s.XLength == 0) { dOffsets.Clear(); return; }
        int threads = Math.Max(1, CpuParallel.Threads);
        long work = (long)s.NT * s.HW * s.P * s.C * 12;
        bool parallel = threads > 1 && work >= 32_768;
        // Row chunks per frame: 1 when the frames alone keep every core busy, more (each with its own
        // scatter buffer) when there are few frames.
        int cpf = !parallel || s.NT >= 2 * threads ? 1 : Math.Min(s.H, (2 * threads + s.NT - 1) / s.NT);
        int units = s.NT * cpf;
        long frameLen = (long)s.HW * s.C;
        float[] xhArr = ArrayPool<float>.Shared.Rent(checked((int)s.XLength));
        float[] scArr = ArrayPool<float>.Shared.Rent(checked((int)(units * frameLen)));
        try
        {
            fixed (float* pdy = dy, px = x, po = offsets, pw = savedWeights, pdx = dx, pdo = dOffsets, pxh = xhArr, psc = scArr)
            {
                var ctx = new Ctx(s, px, po, pw, pxh);
                float* dyp = pdy, dxp = pdx, dop = pdo, scat = psc;
                ToHwc(ctx);
                Run(units, work, () => new Scratch(s), (u, sc) =>
                {
                    int f = u / cpf, ch = u % cpf;
                    int y0 = (int)((long)s.H * ch / cpf), y1 = (int)((long)s.H * (ch + 1) / cpf);
                    float* buf = scat + u * frameLen;
                    if (s.Attends(f)) new Span<float>(buf, (int)frameLen).Clear();
                    for (int row = y0; row < y1; row++) BackwardRow(ctx, sc, f, row, dyp, dxp, dop, buf);
                });
                // Second pass: dx[tf] += Σ over source frames sf with next(sf) = tf of their scatter buffers (HWC → NCHW).
                CpuParallel.For(s.NT, tf =>
                {
                    float* sum = null;
                    for (int sf = Math.Max(0, tf - 1); sf <= tf; sf++)
                    {
                        if (s.Next(sf) != tf || !s.Attends(sf)) continue;
                        for (int ch = 0; ch < cpf; ch++)
                        {
                            float* b = scat + (sf * cpf + ch) * frameLen;
                            if (sum == null) sum = b;
                            else Add(sum, b, frameLen);
                        }
                    }
                    if (sum != null)
                    {
                        float* d = dxp + tf * frameLen;
                        Transpose(sum, s.C, d, s.HW, s.HW, s.C, d);
                    }
                }, (long)units * frameLen * 2);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xhArr);
            ArrayPool<float>.Shared.Return(scArr);
        }
    }

    // ------------------------------------------------------------------------------------------------ forward

    /// <summary>Forward of one image row (frame f, row yy): every pixel's P keys, weights and aggregation,
    /// then y[f, :, yy, :] = x + A written back to NCHW through a small W×C transpose.</summary>
    private static void ForwardRow(in Ctx c, Scratch sc, int f, int yy, float* yOut)
    {
        var s = c.S;
        int C = s.C, HW = s.HW, W = s.W, P = s.P, G = s.Groups, Cg = s.GroupChannels, k = s.K, r = (k - 1) / 2;
        long frame = (long)f * C * HW;
        float* xRow = c.X + frame + (long)yy * W;
        float* yRow = yOut + frame + (long)yy * W;
        float* sw = c.Wt + (long)f * G * P * HW;
        if (!s.Attends(f))
        {
            // last_frame = none: Y = x, and no weights.
            for (int ch = 0; ch < C; ch++) new ReadOnlySpan<float>(xRow + (long)ch * HW, W).CopyTo(new Span<float>(yRow + (long)ch * HW, W));
            for (int gj = 0; gj < G * P; gj++) new Span<float>(sw + (long)gj * HW + yy * W, W).Clear();
            return;
        }
        float* xq = c.Xh + ((long)f * HW + (long)yy * W) * C;     // queries of this row, HWC
        float* xn = c.Xh + (long)s.Next(f) * HW * C;              // attended frame, HWC
        float* off = c.Off + (long)f * 2 * P * HW;
        float invCg = 1f / Cg;
        float* kb = sc.K, wgt = sc.S, rowA = sc.RowA;
        for (int xx = 0; xx < W; xx++)
        {
            int p = yy * W + xx;
            float* q = xq + (long)xx * C;
            for (int j = 0; j < P; j++)
            {
                // (1) sampling position, (2) gather K_j and (3) its correlation with q, fused in one channel pass.
                var t = BilinearTaps.At(yy + (double)((j / k - r) * s.Dilation) + off[(2L * j) * HW + p],
                                        xx + (double)((j % k - r) * s.Dilation) + off[(2L * j + 1) * HW + p], s.H, W);
                GatherDot(xn, sc.Zero, in t, C, q, kb + (long)j * C, G, Cg, wgt + j, P);
            }
            for (int g = 0; g < G; g++)
            {
                float* wg = wgt + g * P;
                for (int j = 0; j < P; j++) wg[j] *= invCg;
                if (s.Softmax) SoftmaxInPlace(wg, P);
                for (int j = 0; j < P; j++) sw[((long)g * P + j) * HW + p] = wg[j];
            }
            // (4) A[c] = Σ_j W_{g(c),j}·K_j[c]
            Combine(kb, wgt, rowA + (long)xx * C, C, P, G, Cg);
        }
        // (5) y = x + A (A of the row is W×C; y, x rows are C×W with stride HW).
        Transpose(rowA, C, yRow, HW, W, C, xRow);
    }

    // ----------------------------------------------------------------------------------------------- backward

    /// <summary>Backward of one image row (frame f, row yy). Writes dx[f, :, yy, :] = dy + dq and the row's offset
    /// gradients, and scatters dK into <paramref name="scat"/> (the attended frame's HWC layout).</summary>
    private static void BackwardRow(in Ctx c, Scratch sc, int f, int yy, float* dyAll, float* dxAll, float* dOffAll, float* scat)
    {
        var s = c.S;
        int C = s.C, HW = s.HW, W = s.W, P = s.P, G = s.Groups, Cg = s.GroupChannels, k = s.K, r = (k - 1) / 2;
        long frame = (long)f * C * HW;
        float* dyRow = dyAll + frame + (long)yy * W;
        float* dxRow = dxAll + frame + (long)yy * W;
        float* dOff = dOffAll + (long)f * 2 * P * HW;
        if (!s.Attends(f))
        {
            // No A: dx = dy, no offset gradient.
            for (int ch = 0; ch < C; ch++) new ReadOnlySpan<float>(dyRow + (long)ch * HW, W).CopyTo(new Span<float>(dxRow + (long)ch * HW, W));
            for (int cj = 0; cj < 2 * P; cj++) new Span<float>(dOff + (long)cj * HW + yy * W, W).Clear();
            return;
        }
        float* xq = c.Xh + ((long)f * HW + (long)yy * W) * C;
        float* xn = c.Xh + (long)s.Next(f) * HW * C;
        float* off = c.Off + (long)f * 2 * P * HW;
        float* sw = c.Wt + (long)f * G * P * HW;
        float invCg = 1f / Cg;
        float* kb = sc.K, wgt = sc.S, dW = sc.DW, beta = sc.Beta, rowDy = sc.RowB, rowDq = sc.RowA;
        Span<BilinearTaps> taps = sc.Taps;
        Transpose(dyRow, HW, rowDy, C, C, W, null);   // dA of the row as W×C
        for (int xx = 0; xx < W; xx++)
        {
            int p = yy * W + xx;
            float* q = xq + (long)xx * C, dA = rowDy + (long)xx * C;
            // Regather K_j and dW_{g,j} = Σ_{c∈g} dA[c]·K_j[c].
            for (int j = 0; j < P; j++)
            {
                taps[j] = BilinearTaps.At(yy + (double)((j / k - r) * s.Dilation) + off[(2L * j) * HW + p],
                                          xx + (double)((j % k - r) * s.Dilation) + off[(2L * j + 1) * HW + p], s.H, W);
                GatherDot(xn, sc.Zero, in taps[j], C, dA, kb + (long)j * C, G, Cg, dW + j, P);
            }
            for (int g = 0; g < G; g++)
            {
                float* wg = wgt + g * P, dWg = dW + g * P, bg = beta + g * P;
                for (int j = 0; j < P; j++) wg[j] = sw[((long)g * P + j) * HW + p];
                float dot = 0;
                if (s.Softmax) for (int j = 0; j < P; j++) dot += wg[j] * dWg[j];
                // β_{g,j} = dS_{g,j} / Cg
                for (int j = 0; j < P; j++) bg[j] = (s.Softmax ? wg[j] * (dWg[j] - dot) : dWg[j]) * invCg;
            }
            // dq[c] = Σ_j β_{g,j}·K_j[c]
            Combine(kb, beta, rowDq + (long)xx * C, C, P, G, Cg);
            // dK_j = W·dA + β·q: scatter into the attended frame and reduce against the taps for the position gradient.
            for (int j = 0; j < P; j++)
            {
                ref readonly BilinearTaps t = ref taps[j];
                float gy = 0, gx = 0;
                if (t.Mask != 0)
                {
                    ScatterDot(xn, scat, sc.Zero, sc.Sink, in t, C, dA, q, wgt + j, beta + j, P, G, Cg, out float d0, out float d1, out float d2, out float d3);
                    gy = t.DPy(d0, d1, d2, d3);
                    gx = t.DPx(d0, d1, d2, d3);
                }
                dOff[(2L * j) * HW + p] = gy;
                dOff[(2L * j + 1) * HW + p] = gx;
            }
        }
        // dx row = dy + dq (dq of the row is W×C).
        Transpose(rowDq, C, dxRow, HW, W, C, dyRow);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /// <summary>Gathers K[c] = Σ_t w_t·v_t[c] (4 taps of the HWC frame <paramref name="frame"/>; outside taps
    /// read the zero row) and, per group, dots[g·stride] = Σ_{c∈g} q[c]·K[c].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherDot(float* frame, float* zero, in BilinearTaps t, int C, float* q, float* kOut, int G, int Cg, float* dots, int stride)
    {
        if (t.Mask == 0)
        {
            new Span<float>(kOut, C).Clear();
            for (int g = 0; g < G; g++) dots[g * stride] = 0;
            return;
        }
        float* v0 = (t.Mask & 1) != 0 ? frame + (long)t.I0 * C : zero;
        float* v1 = (t.Mask & 2) != 0 ? frame + (long)t.I1 * C : zero;
        float* v2 = (t.Mask & 4) != 0 ? frame + (long)t.I2 * C : zero;
        float* v3 = (t.Mask & 8) != 0 ? frame + (long)t.I3 * C : zero;
        float w0 = t.W0, w1 = t.W1, w2 = t.W2, w3 = t.W3;
        var W0 = new Vector<float>(w0); var W1 = new Vector<float>(w1); var W2 = new Vector<float>(w2); var W3 = new Vector<float>(w3);
        int vc = Vector<float>.Count;
        for (int g = 0; g < G; g++)
        {
            int c = g * Cg, end = c + Cg;
            var acc = Vector<float>.Zero;
            for (; c <= end - vc; c += vc)
            {
                var kv = Vector.FusedMultiplyAdd(W3, Ld(v3 + c), Vector.FusedMultiplyAdd(W2, Ld(v2 + c),
                         Vector.FusedMultiplyAdd(W1, Ld(v1 + c), W0 * Ld(v0 + c))));
                St(kOut + c, kv);
                acc = Vector.FusedMultiplyAdd(Ld(q + c), kv, acc);
            }
            float sum = Vector.Sum(acc);
            for (; c < end; c++)
            {
                float kv = w0 * v0[c] + w1 * v1[c] + w2 * v2[c] + w3 * v3[c];
                kOut[c] = kv;
                sum += q[c] * kv;
            }
            dots[g * stride] = sum;
        }
    }

    /// <summary>dst[c] = Σ_j coef[g(c)·P + j]·kb[j·C + c] (aggregation A, and dq in backward).</summary>
    private static void Combine(float* kb, float* coef, float* dst, int C, int P, int G, int Cg)
    {
        int vc = Vector<float>.Count;
        for (int g = 0; g < G; g++)
        {
            float* cg = coef + g * P;
            int c = g * Cg, end = c + Cg;
            for (; c <= end - vc; c += vc)
            {
                var acc = Vector<float>.Zero;
                float* kp = kb + c;
                for (int j = 0; j < P; j++, kp += C) acc = Vector.FusedMultiplyAdd(new Vector<float>(cg[j]), Ld(kp), acc);
                St(dst + c, acc);
            }
            for (; c < end; c++)
            {
                float acc = 0;
                float* kp = kb + c;
                for (int j = 0; j < P; j++, kp += C) acc += cg[j] * *kp;
                dst[c] = acc;
            }
        }
    }

    /// <summary>
    /// For one neighbour j: dK[c] = α_g·dA[c] + β_g·q[c] (α = W_{g,j}, β = dS_{g,j}/Cg); scatters
    /// scat[tap_t][c] += w_t·dK[c] and returns d_t = Σ_c dK[c]·v_t[c] for the four taps (0 for outside taps,
    /// which read the zero row and write the sink row).
    /// </summary>
    private static void ScatterDot(float* frame, float* scat, float* zero, float* sink, in BilinearTaps t, int C,
        float* dA, float* q, float* alpha, float* beta, int stride, int G, int Cg,
        out float d0, out float d1, out float d2, out float d3)
    {
        bool b0 = (t.Mask & 1) != 0, b1 = (t.Mask & 2) != 0, b2 = (t.Mask & 4) != 0, b3 = (t.Mask & 8) != 0;
        float* v0 = b0 ? frame + (long)t.I0 * C : zero, s0 = b0 ? scat + (long)t.I0 * C : sink;
        float* v1 = b1 ? frame + (long)t.I1 * C : zero, s1 = b1 ? scat + (long)t.I1 * C : sink;
        float* v2 = b2 ? frame + (long)t.I2 * C : zero, s2 = b2 ? scat + (long)t.I2 * C : sink;
        float* v3 = b3 ? frame + (long)t.I3 * C : zero, s3 = b3 ? scat + (long)t.I3 * C : sink;
        float w0 = t.W0, w1 = t.W1, w2 = t.W2, w3 = t.W3;
        var W0 = new Vector<float>(w0); var W1 = new Vector<float>(w1); var W2 = new Vector<float>(w2); var W3 = new Vector<float>(w3);
        int vc = Vector<float>.Count;
        float r0 = 0, r1 = 0, r2 = 0, r3 = 0;
        for (int g = 0; g < G; g++)
        {
            float al = alpha[g * stride], be = beta[g * stride];
            var AL = new Vector<float>(al); var BE = new Vector<float>(be);
            var a0 = Vector<float>.Zero; var a1 = Vector<float>.Zero; var a2 = Vector<float>.Zero; var a3 = Vector<float>.Zero;
            int c = g * Cg, end = c + Cg;
            for (; c <= end - vc; c += vc)
            {
                var dk = Vector.FusedMultiplyAdd(AL, Ld(dA + c), BE * Ld(q + c));
                St(s0 + c, Vector.FusedMultiplyAdd(W0, dk, Ld(s0 + c)));
                St(s1 + c, Vector.FusedMultiplyAdd(W1, dk, Ld(s1 + c)));
                St(s2 + c, Vector.FusedMultiplyAdd(W2, dk, Ld(s2 + c)));
                St(s3 + c, Vector.FusedMultiplyAdd(W3, dk, Ld(s3 + c)));
                a0 = Vector.FusedMultiplyAdd(dk, Ld(v0 + c), a0);
                a1 = Vector.FusedMultiplyAdd(dk, Ld(v1 + c), a1);
                a2 = Vector.FusedMultiplyAdd(dk, Ld(v2 + c), a2);
                a3 = Vector.FusedMultiplyAdd(dk, Ld(v3 + c), a3);
            }
            r0 += Vector.Sum(a0); r1 += Vector.Sum(a1); r2 += Vector.Sum(a2); r3 += Vector.Sum(a3);
            for (; c < end; c++)
            {
                float dk = al * dA[c] + be * q[c];
                s0[c] += w0 * dk; s1[c] += w1 * dk; s2[c] += w2 * dk; s3[c] += w3 * dk;
                r0 += dk * v0[c]; r1 += dk * v1[c]; r2 += dk * v2[c]; r3 += dk * v3[c];
            }
        }
        d0 = r0; d1 = r1; d2 = r2; d3 = r3;
    }

    /// <summary>In-place max-subtracted softmax over n values.</summary>
    private static void SoftmaxInPlace(float* v, int n)
    {
        float m = float.NegativeInfinity;
        for (int i = 0; i < n; i++) if (v[i] > m) m = v[i];
        float sum = 0;
        for (int i = 0; i < n; i++) { float e = MathF.Exp(v[i] - m); v[i] = e; sum += e; }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) v[i] *= inv;
    }

    /// <summary>dst[i] += src[i].</summary>
    private static void Add(float* dst, float* src, long n)
    {
        int vc = Vector<float>.Count;
        long i = 0;
        for (; i <= n - vc; i += vc) St(dst + i, Ld(dst + i) + Ld(src + i));
        for (; i < n; i++) dst[i] += src[i];
    }

    /// <summary>Transposes every frame of x (C × HW) into the HWC scratch (HW × C).</summary>
    private static void ToHwc(in Ctx c)
    {
        var s = c.S;
        long frameLen = (long)s.C * s.HW;
        float* x = c.X, xh = c.Xh;
        int C = s.C, HW = s.HW;
        // Split each frame into column blocks so that small NT still uses every core.
        int blocks = Math.Max(1, Math.Min((HW + 63) / 64, 2 * Math.Max(1, CpuParallel.Threads)));
        CpuParallel.For(s.NT * blocks, u =>
        {
            int f = u / blocks, b = u % blocks;
            int p0 = (int)((long)HW * b / blocks), p1 = (int)((long)HW * (b + 1) / blocks);
            Transpose(x + f * frameLen + p0, HW, xh + f * frameLen + (long)p0 * C, C, C, p1 - p0, null);
        }, s.XLength);
    }

    /// <summary>
    /// dst[j·dstStride + i] = (add == null ? 0 : add[j·dstStride + i]) + src[i·srcStride + j] for i &lt; rows,
    /// j &lt; cols (add may equal dst). Full 8×8 tiles use an AVX register transpose.
    /// </summary>
    internal static void Transpose(float* src, int srcStride, float* dst, int dstStride, int rows, int cols, float* add)
    {
        int i8 = Avx.IsSupported ? rows & ~7 : 0, j8 = Avx.IsSupported ? cols & ~7 : 0;
        for (int j0 = 0; j0 < j8; j0 += 8)
            for (int i0 = 0; i0 < i8; i0 += 8)
                Tile8(src + (long)i0 * srcStride + j0, srcStride, dst + (long)j0 * dstStride + i0, dstStride,
                      add == null ? null : add + (long)j0 * dstStride + i0);
        // Edges (rows ≥ i8 for the tiled columns, and every row of the remaining columns).
        for (int j = 0; j < cols; j++)
        {
            int iStart = j < j8 ? i8 : 0;
            float* d = dst + (long)j * dstStride;
            float* a = add == null ? null : add + (long)j * dstStride;
            for (int i = iStart; i < rows; i++) d[i] = (a == null ? 0 : a[i]) + src[(long)i * srcStride + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8(float* s, int ss, float* d, int ds, float* add)
    {
        var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + ss);
        var r2 = Avx.LoadVector256(s + 2L * ss); var r3 = Avx.LoadVector256(s + 3L * ss);
        var r4 = Avx.LoadVector256(s + 4L * ss); var r5 = Avx.LoadVector256(s + 5L * ss);
        var r6 = Avx.LoadVector256(s + 6L * ss); var r7 = Avx.LoadVector256(s + 7L * ss);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        StoreRow(d, add, Avx.Permute2x128(u0, u4, 0x20));
        StoreRow(d + ds, add == null ? null : add + ds, Avx.Permute2x128(u1, u5, 0x20));
        StoreRow(d + 2L * ds, add == null ? null : add + 2L * ds, Avx.Permute2x128(u2, u6, 0x20));
        StoreRow(d + 3L * ds, add == null ? null : add + 3L * ds, Avx.Permute2x128(u3, u7, 0x20));
        StoreRow(d + 4L * ds, add == null ? null : add + 4L * ds, Avx.Permute2x128(u0, u4, 0x31));
        StoreRow(d + 5L * ds, add == null ? null : add + 5L * ds, Avx.Permute2x128(u1, u5, 0x31));
        StoreRow(d + 6L * ds, add == null ? null : add + 6L * ds, Avx.Permute2x128(u2, u6, 0x31));
        StoreRow(d + 7L * ds, add == null ? null : add + 7L * ds, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* d, float* add, Vector256<float> v)
    {
        if (add != null) v = Avx.Add(v, Avx.LoadVector256(add));
        Avx.Store(d, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Ld(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    /// <summary>Runs body(i, scratch) for i in [0, n) with one scratch per worker; serially when the work is small.</summary>
    private static void Run(int n, long work, Func<Scratch> make, Action<int, Scratch> body)
    {
        if (n <= 0) return;
        int threads = Math.Max(1, CpuParallel.Threads);
        if (n == 1 || threads == 1 || work < 32_768)
        {
            using var sc = make();
            for (int i = 0; i < n; i++) body(i, sc);
            return;
        }
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = threads }, make,
            (i, _, sc) => { body(i, sc); return sc; }, sc => sc.Dispose());
    }

    /// <summary>Pointers shared by the loops: inputs, saved weights and the HWC copy of x.</summary>
    private readonly struct Ctx(SifaShape s, float* x, float* off, float* wt, float* xh)
    {
        public readonly SifaShape S = s;
        public readonly float* X = x, Off = off, Wt = wt, Xh = xh;
    }

    /// <summary>Per-worker scratch in native memory: P keys of length C, two W×C rows, score arrays, a zero row and a sink row.</summary>
    private sealed class Scratch : IDisposable
    {
        private readonly float* mem;
        public readonly float* K, RowA, RowB, S, DW, Beta, Zero, Sink;
        public readonly BilinearTaps[] Taps;

        public Scratch(SifaShape s)
        {
            long C = Math.Max(s.C, 1), P = s.P, W = Math.Max(s.W, 1), GP = (long)s.Groups * s.P;
            long n = P * C + 2 * W * C + 3 * GP + 2 * C + 8 * 16;
            mem = (float*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);
            float* m = mem;
            K = m; m += Round(P * C);
            RowA = m; m += Round(W * C);
            RowB = m; m += Round(W * C);
            S = m; m += Round(GP);
            DW = m; m += Round(GP);
            Beta = m; m += Round(GP);
            Zero = m; m += Round(C);
            Sink = m;
            new Span<float>(Zero, (int)C).Clear();
            Taps = new BilinearTaps[s.P];
        }

        private static long Round(long n) => (n + 15) & ~15L;

        public void Dispose() => NativeMemory.AlignedFree(mem);
    }
}
