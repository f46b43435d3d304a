using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Sifa.Models;

/// <summary>
/// ILGPU kernels of the SIFA op: the same maths as <see cref="SifaKernels"/> (steps (1)–(5) there), one GPU thread per
/// query pixel (frame f, row y, column x). The forward writes the raw correlations S into the saved-weights buffer and
/// normalises them in place, so no per-thread arrays are needed; keys are re-gathered where they are used instead of
/// being stored. The backward scatters the key gradients into frame next(f) with atomic adds (several queries sample
/// the same pixels), so its sums are not bit-identical run to run; everything else is deterministic.
/// </summary>
internal static class SifaGpuKernels
{
    // Sizes and options as a kernel argument (a blittable struct: ILGPU passes it by value).
    internal readonly struct Args(SifaShape s)
    {
        public readonly int T = s.T, C = s.C, H = s.H, W = s.W, K = s.K, Dilation = s.Dilation, Groups = s.Groups;
        public readonly int LastFrameNone = s.LastFrameNone ? 1 : 0, Softmax = s.Softmax ? 1 : 0;
        public int P => K * K;
        public int HW => H * W;
        public int Cg => C / Groups;
        public int Next(int f) => f % T < T - 1 ? f + 1 : f;
        public bool Attends(int f) => !(LastFrameNone != 0 && f % T == T - 1);

        // Taps of neighbour j of pixel (y, x) in frame f: SPEC step 1 (position arithmetic in double, as the CPU does,
        // so that ⌊·⌋ is decided exactly as by a float64 reference).
        public BilinearTaps Taps(ArrayView<float> offsets, int f, int j, int y, int x)
        {
            int r = (K - 1) / 2, a = j / K, b = j % K;
            int o = (f * 2 * P + 2 * j) * HW + y * W + x;
            double py = y + (a - r) * Dilation + (double)offsets[o];
            double px = x + (b - r) * Dilation + (double)offsets[o + HW];
            return BilinearTaps.At(py, px, H, W);
        }

        // Bilinear sample of one channel plane at the taps.
        public static float Sample(ArrayView<float> x, int plane, in BilinearTaps t) =>
            t.W0 * x[plane + t.I0] + t.W1 * x[plane + t.I1] + t.W2 * x[plane + t.I2] + t.W3 * x[plane + t.I3];

        // The adjoint of Sample for a sample gradient d: adds d·(tap weight) into the plane of dx (atomics: other
        // threads sample the same pixels), and accumulates d·∂bilinear/∂(py, px) of the plane of x into (gy, gx).
        public static void Scatter(ArrayView<float> x, ArrayView<float> dx, int plane, in BilinearTaps t, float d, ref float gy, ref float gx)
        {
            if ((t.Mask & 1) != 0) Atomic.Add(ref dx[plane + t.I0], d * t.W0);
            if ((t.Mask & 2) != 0) Atomic.Add(ref dx[plane + t.I1], d * t.W1);
            if ((t.Mask & 4) != 0) Atomic.Add(ref dx[plane + t.I2], d * t.W2);
            if ((t.Mask & 8) != 0) Atomic.Add(ref dx[plane + t.I3], d * t.W3);
            float v0 = x[plane + t.I0], v1 = x[plane + t.I1], v2 = x[plane + t.I2], v3 = x[plane + t.I3];
            gy += d * t.DPy(v0, v1, v2, v3);
            gx += d * t.DPx(v0, v1, v2, v3);
        }
    }

    /// <summary>Forward: y = x + A, weights = W (NT, G, P, H, W). One thread per (f, y, x).</summary>
    public static void Forward(Index1D i, ArrayView<float> x, ArrayView<float> offsets, ArrayView<float> y, ArrayView<float> weights, Args s)
    {
        int hw = s.HW, f = i / hw, pix = i % hw, py = pix / s.W, px = pix % s.W;
        int P = s.P, cg = s.Cg;
        if (!s.Attends(f))
        {
            for (int c = 0; c < s.C; c++) y[(f * s.C + c) * hw + pix] = x[(f * s.C + c) * hw + pix];
            for (int w = 0; w < s.Groups * P; w++) weights[(f * s.Groups * P + w) * hw + pix] = 0;
            return;
        }
        int n = s.Next(f);
        float scale = 1f / cg;
        // (2)+(3) correlations S_{g,j}
        for (int j = 0; j < P; j++)
        {
            var t = s.Taps(offsets, f, j, py, px);
            for (int g = 0; g < s.Groups; g++)
            {
                float acc = 0;
                for (int c = g * cg; c < (g + 1) * cg; c++)
                    acc += x[(f * s.C + c) * hw + pix] * Args.Sample(x, (n * s.C + c) * hw, t);
                weights[((f * s.Groups + g) * P + j) * hw + pix] = acc * scale;
            }
        }
        // softmax over j, max-subtracted, in place
        if (s.Softmax != 0)
            for (int g = 0; g < s.Groups; g++)
            {
                int w0 = (f * s.Groups + g) * P * hw + pix;
                float m = float.NegativeInfinity;
                for (int j = 0; j < P; j++) m = XMath.Max(m, weights[w0 + j * hw]);
                float sum = 0;
                for (int j = 0; j < P; j++) { float e = XMath.Exp(weights[w0 + j * hw] - m); weights[w0 + j * hw] = e; sum += e; }
                for (int j = 0; j < P; j++) weights[w0 + j * hw] /= sum;
            }
        // (4)+(5) y = x + Σ_j W_{g(c),j}·K_j[c]
        for (int c = 0; c < s.C; c++) y[(f * s.C + c) * hw + pix] = x[(f * s.C + c) * hw + pix];
        for (int j = 0; j < P; j++)
        {
            var t = s.Taps(offsets, f, j, py, px);
            for (int c = 0; c < s.C; c++)
            {
                float wgt = weights[((f * s.Groups + c / cg) * P + j) * hw + pix];
                y[(f * s.C + c) * hw + pix] += wgt * Args.Sample(x, (n * s.C + c) * hw, t);
            }
        }
    }

    /// <summary>
    /// Backward, pass 1 (one thread per (f, y, x)): dS_{g,j} into <paramref name="dScores"/> (NT, G, P, H, W):
    /// dW_{g,j} = Σ_{c∈g} dy[c]·K_j[c], then dS = dW (none) or W·(dW − Σ_i W_i·dW_i) (softmax).
    /// </summary>
    public static void BackwardScores(Index1D i, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> offsets,
        ArrayView<float> weights, ArrayView<float> dScores, Args s)
    {
        int hw = s.HW, f = i / hw, pix = i % hw, py = pix / s.W, px = pix % s.W;
        int P = s.P, cg = s.Cg;
        bool attends = s.Attends(f);
        int n = s.Next(f);
        for (int j = 0; j < P; j++)
        {
            var t = s.Taps(offsets, f, j, py, px);
            for (int g = 0; g < s.Groups; g++)
            {
                float acc = 0;
                if (attends)
                    for (int c = g * cg; c < (g + 1) * cg; c++)
                        acc += dy[(f * s.C + c) * hw + pix] * Args.Sample(x, (n * s.C + c) * hw, t);
                dScores[((f * s.Groups + g) * P + j) * hw + pix] = acc;
            }
        }
        if (s.Softmax == 0 || !attends) return;
        for (int g = 0; g < s.Groups; g++)
        {
            int w0 = (f * s.Groups + g) * P * hw + pix;
            float dot = 0;
            for (int j = 0; j < P; j++) dot += weights[w0 + j * hw] * dScores[w0 + j * hw];
            for (int j = 0; j < P; j++) dScores[w0 + j * hw] = weights[w0 + j * hw] * (dScores[w0 + j * hw] - dot);
        }
    }

    /// <summary>
    /// Backward, pass 2 (one thread per (f, y, x); dx zeroed before): dx_f += dy + (1/Cg)·Σ_j dS_{g,j}·K_j (query);
    /// dK_j[c] = W_{g,j}·dy[c] + (1/Cg)·dS_{g,j}·q[c] scattered bilinearly into frame next(f) (atomics);
    /// d(py, px)_j = Σ_c dK_j[c]·∂bilinear/∂(py, px).
    /// </summary>
    public static void BackwardInputs(Index1D i, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> offsets,
        ArrayView<float> weights, ArrayView<float> dScores, ArrayView<float> dx, ArrayView<float> dOffsets, Args s)
    {
        int hw = s.HW, f = i / hw, pix = i % hw, py = pix / s.W, px = pix % s.W;
        int P = s.P, cg = s.Cg;
        float scale = 1f / cg;
        bool attends = s.Attends(f);
        int n = s.Next(f);
        for (int c = 0; c < s.C; c++) Atomic.Add(ref dx[(f * s.C + c) * hw + pix], dy[(f * s.C + c) * hw + pix]);
        for (int j = 0; j < P; j++)
        {
            int o = (f * 2 * P + 2 * j) * hw + pix;
            if (!attends) { dOffsets[o] = 0; dOffsets[o + hw] = 0; continue; }
            var t = s.Taps(offsets, f, j, py, px);
            float gy = 0, gx = 0;
            for (int c = 0; c < s.C; c++)
            {
                int wi = ((f * s.Groups + c / cg) * P + j) * hw + pix;
                int plane = (n * s.C + c) * hw;
                float q = x[(f * s.C + c) * hw + pix];
                float dS = dScores[wi] * scale;
                // query gradient through the correlation
                Atomic.Add(ref dx[(f * s.C + c) * hw + pix], dS * Args.Sample(x, plane, t));
                // key gradient: scatter into the sampled frame, and the position gradient
                float dK = weights[wi] * dy[(f * s.C + c) * hw + pix] + dS * q;
                Args.Scatter(x, dx, plane, t, dK, ref gy, ref gx);
            }
            dOffsets[o] = gy;
            dOffsets[o + hw] = gx;
        }
    }
}
