using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// Stride-1 convolution without unfolding: an implicit GEMM that reads op(B) straight from a zero-padded copy of the
// image. On the padded grid (Hp × Wp, image at row padH, column padW) the output position q = oh·Wp + ow needs, for
// the reduction index k = (c, ki, kj), the value xp[c·Hp·Wp + ki·dh·Wp + kj·dw + q]: for a fixed k, consecutive q are
// consecutive floats. So a register tile of 6 output channels × 32 consecutive q loads its B row with two plain
// (unaligned) vector loads at off[k] + q0, and the weights are the usual 6-row packed A panels over the whole K.
// The columns ow ≥ Wo of the grid are computed and discarded (Wp − Wo of every Wp), which is cheap next to
// creating every unfolded value once per use: im2col plus packing cost about as much as the 64 multiply-adds that
// use each value when Cout = 64 (ResNet's layer1).
// The input gradient of a stride-1 convolution is itself one (dY padded by (k−1)·d − pad, weights flipped and
// transposed), so the same kernel serves both.
internal static unsafe partial class ImplicitGemm
{
    private const int MR = MicroKernel.MR;

    /// <summary>Whether the implicit kernels run on the SGEMM path in use: the 6×32 tile on AVX-512, 6×16 on AVX2.</summary>
    public static bool Supported => CpuFeatures.SgemmPath switch
    {
        CpuIsa.Avx512 => Avx512F.IsSupported,
        CpuIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    // Output positions per register tile on the path in use.
    private static int Width => CpuFeatures.SgemmPath == CpuIsa.Avx512 ? 32 : 16;

    /// <summary>
    /// Whether the implicit GEMM beats unfolding for a convolution with <paramref name="m"/> output channels (per group).
    /// It computes Wp − Wo discarded columns of every Wp; unfolding creates and packs each value for only m multiply-adds.
    /// Measured (3×3, 8 images, 2 cores): ahead at 56- and 28-wide outputs (stride 1 and 2), even at 14 and behind at 7
    /// for 64–512 channels (a 14-wide strided output too), but 1.4–2.7× ahead at every size for the 18 channels of
    /// SIFA's offset convolution.
    /// </summary>
    public static bool Pays(int w, int kw, int padW, int dw, int sw, int m)
    {
        int full = w + 2 * padW, wp = (full + sw - 1) / sw, wo = (full - dw * (kw - 1) - 1) / sw + 1, waste = wp - wo;
        return wo > 0 && ((10 * waste <= wp && wo >= 28) || (m <= 32 && 3 * waste <= wp));
    }

    /// <summary>
    /// The geometry of one implicit-GEMM convolution: the padded image as sh·sw phase grids of Hp × Wp (phase (a, b)
    /// holds the padded rows a, a + sh, … and columns b, b + sw, …; one phase, the padded image itself, at stride 1),
    /// and the output on the grid: position q = oh·Wp + ow, of which the columns ow ≥ Wo are discarded. For the tap
    /// (ki, kj) the output (oh, ow) reads padded row sh·oh + ki·dh = sh·(oh + ki·dh / sh) + ki·dh mod sh, so with the
    /// phases a strided convolution reads consecutive floats too.
    /// </summary>
    public readonly struct Plan
    {
        public readonly int C, H, W, PadH, PadW, Sh, Sw, Hp, Wp, Ho, Wo, K, Nr, Tiles;
        public readonly long PhaseLength, PaddedLength;

        public Plan(int c, int h, int w, int kh, int kw, int padH, int padW, int dh, int dw, int sh = 1, int sw = 1)
        {
            C = c; H = h; W = w; PadH = padH; PadW = padW; Sh = sh; Sw = sw;
            int fullH = h + 2 * padH, fullW = w + 2 * padW;
            Ho = (fullH - dh * (kh - 1) - 1) / sh + 1; Wo = (fullW - dw * (kw - 1) - 1) / sw + 1;
            Hp = (fullH + sh - 1) / sh; Wp = (fullW + sw - 1) / sw;
            K = c * kh * kw;
            Nr = Width;
            Tiles = (Ho * Wp + Nr - 1) / Nr;
            PhaseLength = (long)c * Hp * Wp;
            // The last tile reads up to Nr − 1 + (kw − 1)·dw / sw floats past the last grid row of the last phase.
            PaddedLength = sh * sw * PhaseLength + 32 + Wp + 16;
        }
    }

    /// <summary>The reduction offsets (phase, c, ki·dh / sh, kj·dw / sw) on the grids, in the order of the weights' K.</summary>
    public static int[] Offsets(in Plan p, int kh, int kw, int dh, int dw)
    {
        var off = new int[p.K];
        for (int c = 0, k = 0; c < p.C; c++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++, k++)
                {
                    int phase = ki * dh % p.Sh * p.Sw + kj * dw % p.Sw;
                    off[k] = checked((int)(phase * p.PhaseLength + (long)c * p.Hp * p.Wp + ki * dh / p.Sh * p.Wp + kj * dw / p.Sw));
                }
        return off;
    }

    /// <summary>Copies one image (C × H × W) into the zero-padded phase grids.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pad(float* x, in Plan p, float* xp)
    {
        new Span<float>(xp, checked((int)p.PaddedLength)).Clear();
        if (p.Sh == 1 && p.Sw == 1)
        {
            for (int c = 0; c < p.C; c++)
                for (int h = 0; h < p.H; h++)
                    new ReadOnlySpan<float>(x + ((long)c * p.H + h) * p.W, p.W)
                        .CopyTo(new Span<float>(xp + ((long)c * p.Hp + h + p.PadH) * p.Wp + p.PadW, p.W));
            return;
        }
        for (int a = 0; a < p.Sh; a++)
            for (int b = 0; b < p.Sw; b++)
            {
                float* phase = xp + (a * p.Sw + b) * p.PhaseLength;
                // Grid columns j with an image column sw·j + b − padW inside [0, W).
                int j0 = Math.Max(0, (p.PadW - b + p.Sw - 1) / p.Sw), j1 = Math.Min(p.Wp, (p.W + p.PadW - b + p.Sw - 1) / p.Sw);
                for (int c = 0; c < p.C; c++)
                    for (int i = 0; i < p.Hp; i++)
                    {
                        int row = p.Sh * i + a - p.PadH;
                        if ((uint)row >= (uint)p.H) continue;
                        float* src = x + ((long)c * p.H + row) * p.W + b - p.PadW, dst = phase + ((long)c * p.Hp + i) * p.Wp;
                        for (int j = j0; j < j1; j++) dst[j] = src[(long)p.Sw * j];
                    }
            }
    }

    /// <summary>Tiles (of 32 or 16 output positions) that share each A slice; SIFA_IMPLICIT_TG=n for tuning (measured best: 2).</summary>
    internal static int TileGroup = int.TryParse(Environment.GetEnvironmentVariable("SIFA_IMPLICIT_TG"), out int tg) && tg > 0 ? tg : 2;

    /// <summary>Largest reduction block (k-steps) per kernel call, in whole input channels; SIFA_IMPLICIT_KB=n for tuning (best: 144).</summary>
    internal static int BlockK = int.TryParse(Environment.GetEnvironmentVariable("SIFA_IMPLICIT_KB"), out int kb) && kb > 0 ? kb : 144;

    /// <summary>
    /// y (m × Ho·Wo, row stride ldy) = A · B, A packed by <see cref="PackWeights"/> (m rows over the whole K), B read from
    /// the padded grid <paramref name="xp"/> through <paramref name="off"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in Plan p, int m, float* packedA, float* xp, int* off, float* y, long ldy, bool parallel)
    {
        if (!parallel || p.Tiles < 4) { RunTiles(p, m, packedA, xp, off, y, ldy, 0, p.Tiles); return; }
        var plan = p;
        nint a = (nint)packedA, x = (nint)xp, o = (nint)off, yy = (nint)y;
        CpuParallel.ForChunks(p.Tiles, (t0, t1) => RunTiles(plan, m, (float*)a, (float*)x, (int*)o, (float*)yy, ldy, t0, t1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunTiles(in Plan p, int m, float* packedA, float* xp, int* off, float* y, long ldy, int t0, int t1)
    {
        int panels = (m + MR - 1) / MR;
        // Accumulators for a group of tiles × every row panel. The reduction runs in blocks of whole input channels
        // and, per block, each 6-row A slice is applied to the group's tiles in turn: the slice is read once per
        // group and the grid rows of the block (channels × kh rows × ~3 lines per tile) stay in L1 across the panels.
        int group = Math.Max(1, TileGroup);
        int nr = p.Nr;
        float* acc = PinnedThreadBuffer.Get((long)group * panels * MR * nr, ScratchSlot.Secondary);
        int taps = p.K / p.C, kb = Math.Max(1, BlockK / taps) * taps;
        for (int g0 = t0; g0 < t1; g0 += group)
        {
            int g1 = Math.Min(t1, g0 + group);
            for (int k0 = 0; k0 < p.K; k0 += kb)
            {
                int kn = Math.Min(kb, p.K - k0);
                for (int ip = 0; ip < panels; ip++)
                {
                    float* a = packedA + (long)ip * MR * p.K + (long)k0 * MR;
                    for (int t = g0; t < g1; t++)
                    {
                        float* c = acc + ((long)(t - g0) * panels + ip) * MR * nr;
                        if (nr == 32) Kernel6x32(kn, a, xp + t * nr, off + k0, c, k0 > 0);
                        else Kernel6x16(kn, a, xp + t * nr, off + k0, c, k0 > 0);
                    }
                }
            }
            for (int t = g0; t < g1; t++)
                for (int ip = 0; ip < panels; ip++)
                    Scatter(acc + ((long)(t - g0) * panels + ip) * MR * nr, in p, t * nr, Math.Min(MR, m - ip * MR), y + (long)ip * MR * ldy, ldy);
        }
    }

    /// <summary>
    /// The weight gradient on the padded grid, transposed: dWᵀ (K × ldt, accumulated) += Σ_p x[k, p] · dYᵀ[p, ·] over the
    /// valid output positions p = (oh, ow), where x[k, p] = xp[off[k] + oh·Wp + ow] and <paramref name="dyt"/> is dY
    /// transposed (P × ldt, ldt a multiple of 32, zero beyond the channels). A 6 × 32 tile takes its six values of x from
    /// six streams that advance one float per position, and its B row from dYᵀ: no unfolding and no packing.
    /// </summary>
    public static void WeightGradient(in Plan p, float* xp, int* off, float* dyt, int ldt, float* dwt, bool parallel)
    {
        int panels = (p.K + MR - 1) / MR;
        if (!parallel || panels < 8) { WeightGradientPanels(p, xp, off, dyt, ldt, dwt, 0, panels); return; }
        var plan = p;
        nint x = (nint)xp, o = (nint)off, b = (nint)dyt, c = (nint)dwt;
        CpuParallel.ForChunks(panels, (i0, i1) => WeightGradientPanels(plan, (float*)x, (int*)o, (float*)b, ldt, (float*)c, i0, i1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradientPanels(in Plan p, float* xp, int* off, float* dyt, int ldt, float* dwt, int ip0, int ip1)
    {
        // Output rows in chunks of ~256 positions: a chunk's 32 columns of dYᵀ (32 KiB) stay in L1 across the panels.
        int rows = Math.Max(1, 256 / p.Wo);
        float** streams = stackalloc float*[MR];
        for (int oh0 = 0; oh0 < p.Ho; oh0 += rows)
        {
            int oh1 = Math.Min(p.Ho, oh0 + rows);
            for (int jc = 0; jc < ldt; jc += p.Nr)
                for (int ip = ip0; ip < ip1; ip++)
                {
                    int k0 = ip * MR, valid = Math.Min(MR, p.K - k0);
                    // A partial panel repeats its last row; those sums are computed and not stored.
                    for (int r = 0; r < MR; r++) streams[r] = xp + off[k0 + Math.Min(r, valid - 1)];
                    if (p.Nr == 32) GradientKernel6x32(streams, p.Wp, p.Wo, oh0, oh1, dyt + jc, ldt, dwt + (long)k0 * ldt + jc, valid);
                    else GradientKernel6x16(streams, p.Wp, p.Wo, oh0, oh1, dyt + jc, ldt, dwt + (long)k0 * ldt + jc, valid);
                }
        }
    }

    /// <summary>dst (n × ldt) = srcᵀ for src (m × n, row stride lds), columns m..ldt of dst zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(float* src, int m, int n, long lds, float* dst, int ldt)
    {
        const int Block = 32;
        for (int j0 = 0; j0 < n; j0 += Block)
        {
            int j1 = Math.Min(n, j0 + Block);
            for (int i0 = 0; i0 < m; i0 += Block)
            {
                int i1 = Math.Min(m, i0 + Block);
                for (int i = i0; i < i1; i++)
                {
                    float* s = src + i * lds;
                    for (int j = j0; j < j1; j++) dst[(long)j * ldt + i] = s[j];
                }
            }
            for (int j = j0; j < j1; j++)
                for (int i = m; i < ldt; i++) dst[(long)j * ldt + i] = 0f;
        }
    }

    /// <summary>Packs W (m × K, row-major, row stride ldw) into 6-row panels over the whole K.</summary>
    public static void PackWeights(float* w, long ldw, int m, int k, float* dst) => Packing.PackA(false, w, ldw, 0, m, 0, k, dst);

    /// <summary>Floats <see cref="PackWeights"/> writes.</summary>
    public static long PackedLength(int m, int k) => (long)(m + MR - 1) / MR * MR * k + 16;

    // The valid outputs of a 6 × Nr tile at grid positions [q0, q0 + Nr): each grid row contributes its first Wo columns.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(float* tile, in Plan p, int q0, int rows, float* y, long ldy)
    {
        int nr = p.Nr, q = q0, end = Math.Min(q0 + nr, p.Ho * p.Wp);
        while (q < end)
        {
            int oh = q / p.Wp, ow = q - oh * p.Wp;
            int rowEnd = Math.Min(end, oh * p.Wp + p.Wp);
            int n = Math.Min(rowEnd - q, p.Wo - ow);
            if (n > 0)
                for (int r = 0; r < rows; r++)
                {
                    float* src = tile + r * nr + (q - q0), dst = y + r * ldy + (long)oh * p.Wo + ow;
                    // Vector stores: 32 scalar stores to uncached lines measured 5× slower than a small product.
                    SimdMath.CopyRun(src, dst, n);
                }
            q = rowEnd;
        }
    }

}
