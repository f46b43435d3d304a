using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

// Convolution on a channels-last copy of the image, with no wasted output and no unfolding.
//
// In the zero-padded copy xp[(row · Wp + col) · Ldc + c] (positions outer, channels inner), the output position
// p = (oh, ow) reads for tap (ki, kj) the Cg contiguous floats at Base[p] + TapOffset[t], whatever the stride or the
// dilation. A register tile of 6 positions × 32 output channels therefore takes its six broadcast values from six
// streams that each advance one float per reduction step, and its 32 weights from a [tap][c][32] packed panel: every
// multiply-add of the tile is a wanted one. The padded-grid implicit GEMM (ImplicitGemm) discards Wp − Wo of every Wp
// columns, which grows to 12–22 % at 14- and 7-wide outputs, and unfolding writes and re-reads Cg·kh·kw floats per
// position: this path pays for neither, at the price of one transposing copy of the image per convolution (one read
// of x for 2·Cout·kh·kw multiply-adds per value).
//
// The input gradient at stride 1 is the same convolution of dY (weights flipped and transposed). The weight gradient
// is dW[co][c][t] = Σ_p dY[co][p] · xp[Base[p] + TapOffset[t] + c]: a 6 × 32 tile of (co, c) takes its broadcasts from
// six rows of dY (NCHW, contiguous) and its 32 channels from xp with two vector loads per position.
//
// Kernels: 6 × 32 tiles on AVX-512 (ChannelsLastGemm.Avx512.cs), 6 × 16 on AVX2 (ChannelsLastGemm.Avx2.cs).
internal static unsafe partial class ChannelsLastGemm
{
    /// <summary>Output channels per register tile on the path in use: 32 (two zmm) on AVX-512, 16 (two ymm) on AVX2.</summary>
    public static int Width => CpuFeatures.SgemmPath == CpuIsa.Avx512 ? 32 : 16;

    /// <summary>Output positions (forward) or output channels (weight gradient) per register tile.</summary>
    private const int Mr = 6;

    /// <summary>Input channels per reduction block: 128 × 32 weights (16 KiB) stay in L1 across a chunk's tiles. SIFA_CL_KC=n.</summary>
    internal static int BlockC = int.TryParse(Environment.GetEnvironmentVariable("SIFA_CL_KC"), out int kc) && kc > 0 ? kc : 128;

    /// <summary>Output positions per chunk: the chunk's accumulators (positions × 32) stay in L1 across the reduction. SIFA_CL_PC=n.</summary>
    internal static int ChunkPositions = int.TryParse(Environment.GetEnvironmentVariable("SIFA_CL_PC"), out int pc) && pc > 0 ? pc : 96;

    /// <summary>Positions per weight-gradient kernel call (0: all of a call's positions). SIFA_CL_GC=n.</summary>
    internal static int GradientChunk = int.TryParse(Environment.GetEnvironmentVariable("SIFA_CL_GC"), out int gc) && gc >= 0 ? gc : 128;

    public static bool Supported => CpuFeatures.SgemmPath switch
    {
        CpuIsa.Avx512 => Avx512F.IsSupported,
        CpuIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    /// <summary>
    /// Whether this path runs a convolution with <paramref name="cin"/> input and <paramref name="cout"/> output channels
    /// per group, a kernel of <paramref name="taps"/> taps and <paramref name="positions"/> output positions per image:
    /// long enough reductions per tap and at least one full tile of output channels (narrower ones waste most of the
    /// tile; the padded-grid path serves them), and, when <paramref name="strided"/>, an output of at least 10 × 10.
    /// Measured on ResNet-50's 3×3 convolutions (8 images, 2 cores, Zen 5): ahead of the other paths or even in all three
    /// products at every stride-1 size (56² to 7²) and at the strided 56→28 and 28→14, behind at 14→7, where four
    /// images' strided copies (2 MiB) no longer sit in L2 (dW 8.3 against 5.6 ms).
    /// </summary>
    public static bool Pays(int cin, int cout, int taps, int positions, bool strided) =>
        Supported && taps > 1 && cin >= 16 && cout >= 32 && (!strided || positions >= 100);

    /// <summary>Whether one padded channels-last image (hp × wp × cin, channels rounded up to tiles) has int offsets.</summary>
    public static bool Fits(int cin, int hp, int wp) => (long)hp * wp * ((cin + 31) / 32 * 32) <= int.MaxValue / 2;

    /// <summary>
    /// The geometry: the padded channels-last copies of <see cref="Images"/> images back to back, and per output position
    /// (image-major: q = i·P + p) and tap, where its values start. Small images go several to a call, so that each
    /// packed weight block and each weight-gradient block serves more positions.
    /// </summary>
    public sealed class Plan
    {
        public readonly int C, H, W, PadH, PadW, Hp, Wp, Ho, Wo, P, Taps, Ldc, Images, Nr;
        public readonly long ImageLength, PaddedLength;
        public readonly int[] Base, TapOffset;

        public Plan(int c, int h, int w, int kh, int kw, int padH, int padW, int dh, int dw, int sh, int sw, int images = 1)
        {
            C = c; H = h; W = w; PadH = padH; PadW = padW; Images = images; Nr = Width;
            Hp = h + 2 * padH; Wp = w + 2 * padW;
            Ho = (Hp - dh * (kh - 1) - 1) / sh + 1; Wo = (Wp - dw * (kw - 1) - 1) / sw + 1;
            P = Ho * Wo; Taps = kh * kw;
            // Channels padded to whole tiles: the weight gradient loads Nr of them per position (zeros beyond C).
            Ldc = (c + Nr - 1) / Nr * Nr;
            ImageLength = (long)Hp * Wp * Ldc;
            PaddedLength = checked(ImageLength * images);
            Base = new int[images * P];
            for (int i = 0, q = 0; i < images; i++)
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++, q++) Base[q] = checked((int)(i * ImageLength + (oh * sh * Wp + ow * sw) * Ldc));
            TapOffset = new int[Taps];
            for (int ki = 0, t = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++, t++) TapOffset[t] = (ki * dh * Wp + kj * dw) * Ldc;
        }
    }

    /// <summary>Floats <see cref="PackWeights"/> writes for <paramref name="cout"/> outputs over <paramref name="cin"/> inputs.</summary>
    public static long PackedLength(int cout, int cin, int taps) => (long)((cout + Width - 1) / Width) * taps * cin * Width;

    /// <summary>
    /// Packs one group's weights W (mg × cg × taps) as 32-wide panels of outputs, [panel][tap][input][32], zero past the
    /// last output. <paramref name="flipped"/>: the input gradient's weights instead, outputs = the cg input channels,
    /// inputs = the mg output channels, taps reversed (W'[c][co][t] = W[co][c][taps − 1 − t]).
    /// </summary>
    public static void PackWeights(float* w, int mg, int cg, int taps, bool flipped, float* dst)
    {
        int nr = Width, cout = flipped ? cg : mg, panels = (cout + nr - 1) / nr;
        nint src = (nint)w, d = (nint)dst;
        CpuParallel.For(panels, ip => PackPanel((float*)src, mg, cg, taps, flipped, nr, ip, (float*)d), work: (long)mg * cg * taps);
    }

    // One panel, a few inputs at a time: the nr outputs' weights of those inputs (nr × block × taps floats) are read
    // into L1 once and written out as whole nr-wide rows, instead of one strided read per packed float (which made
    // packing a 512-channel 3×3 kernel cost about as much as the convolution at 7²).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackPanel(float* w, int mg, int cg, int taps, bool flipped, int nr, int ip, float* dst)
    {
        int cout = flipped ? cg : mg, cin = flipped ? mg : cg;
        float* panel = dst + (long)ip * taps * cin * nr;
        const int Block = 8;
        for (int i0 = 0; i0 < cin; i0 += Block)
        {
            int i1 = Math.Min(cin, i0 + Block);
            for (int t = 0; t < taps; t++)
                for (int i = i0; i < i1; i++)
                {
                    float* row = panel + ((long)t * cin + i) * nr;
                    for (int j = 0; j < nr; j++)
                    {
                        int o = ip * nr + j;
                        // Forward: W[o][i][t]. Input gradient: W'[o = c][i = co][t] = W[co][c][taps − 1 − t].
                        row[j] = o >= cout ? 0f
                            : flipped ? w[((long)i * cg + o) * taps + taps - 1 - t]
                            : w[((long)o * cg + i) * taps + t];
                    }
                }
        }
    }

    /// <summary>
    /// Copies the plan's images (each C × H × W, <paramref name="imageStride"/> floats apart) into the zero-padded
    /// channels-last buffer (<see cref="Plan.PaddedLength"/> floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToChannelsLast(float* x, long imageStride, Plan p, float* xp)
    {
        new Span<float>(xp, checked((int)p.PaddedLength)).Clear();
        long hw = (long)p.H * p.W;
        for (int i = 0; i < p.Images; i++)
            CopyImage(x + i * imageStride, p, hw, xp + i * p.ImageLength);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyImage(float* x, Plan p, long hw, float* xp)
    {
        for (int h = 0; h < p.H; h++)
        {
            float* row = xp + ((long)(h + p.PadH) * p.Wp + p.PadW) * p.Ldc;
            int c = 0;
            // 8 channels × 8 columns per register transpose; the rest one by one.
            for (; c + 8 <= p.C; c += 8)
            {
                float* src = x + c * hw + (long)h * p.W;
                int w = 0;
                for (; w + 8 <= p.W; w += 8) Packing.TransposeBlock8(src + w, hw, row + (long)w * p.Ldc + c, p.Ldc);
                for (; w < p.W; w++)
                    for (int i = 0; i < 8; i++) row[(long)w * p.Ldc + c + i] = src[i * hw + w];
            }
            for (; c < p.C; c++)
            {
                float* src = x + c * hw + (long)h * p.W;
                for (int w = 0; w < p.W; w++) row[(long)w * p.Ldc + c] = src[w];
            }
        }
    }

    /// <summary>
    /// y (per image m × P, row stride ldy, images <paramref name="yImageStride"/> floats apart) = the convolution of the
    /// channels-last images <paramref name="xp"/> with the weights <paramref name="packedW"/> (<see cref="PackWeights"/>,
    /// m outputs). Parallel over 32-wide output panels when asked.
    /// </summary>
    public static void Forward(Plan p, int m, float* packedW, float* xp, float* y, long ldy, long yImageStride, bool parallel)
    {
        int panels = (m + p.Nr - 1) / p.Nr;
        if (!parallel || panels < 2) { for (int ip = 0; ip < panels; ip++) ForwardPanel(p, m, ip, packedW, xp, y, ldy, yImageStride); return; }
        nint w = (nint)packedW, x = (nint)xp, yy = (nint)y;
        CpuParallel.For(panels, ip => ForwardPanel(p, m, ip, (float*)w, (float*)x, (float*)yy, ldy, yImageStride));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPanel(Plan p, int m, int ip, float* packedW, float* xp, float* y, long ldy, long yImageStride)
    {
        int total = p.Images * p.P;
        int Nr = p.Nr, chunk = Math.Max(Mr, ChunkPositions / Mr * Mr), blockC = Math.Max(1, BlockC);
        float* acc = PinnedThreadBuffer.Get((long)chunk * Nr, ScratchSlot.Secondary);
        float* panel = packedW + (long)ip * p.Taps * p.C * Nr;
        int rows = Math.Min(Nr, m - ip * Nr);
        fixed (int* bases = p.Base)
            for (int q0 = 0; q0 < total; q0 += chunk)
            {
                int n = Math.Min(chunk, total - q0);
                for (int t = 0; t < p.Taps; t++)
                    for (int c0 = 0; c0 < p.C; c0 += blockC)
                    {
                        int kc = Math.Min(blockC, p.C - c0);
                        bool accumulate = t > 0 || c0 > 0;
                        float* wk = panel + ((long)t * p.C + c0) * Nr;
                        float* origin = xp + p.TapOffset[t] + c0;
                        for (int i = 0; i < n; i += Mr)
                        {
                            // A short last tile repeats its last position; those sums are never stored.
                            int* b = bases + q0 + i, last = bases + q0 + n - 1;
                            float* s0 = origin + b[0], s1 = origin + *Min(b + 1, last), s2 = origin + *Min(b + 2, last);
                            float* s3 = origin + *Min(b + 3, last), s4 = origin + *Min(b + 4, last), s5 = origin + *Min(b + 5, last);
                            if (Nr == 32) Kernel6x32(kc, s0, s1, s2, s3, s4, s5, wk, acc + (long)i * Nr, accumulate);
                            else Kernel6x16(kc, s0, s1, s2, s3, s4, s5, wk, acc + (long)i * Nr, accumulate);
                        }
                    }
                // The chunk's positions, image by image.
                for (int q = q0; q < q0 + n;)
                {
                    int img = q / p.P, end = Math.Min(q0 + n, (img + 1) * p.P);
                        StoreTransposed(acc + (long)(q - q0) * Nr, Nr, end - q, rows, y + img * yImageStride + (long)ip * Nr * ldy + q - img * p.P, ldy);
                    q = end;
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int* Min(int* a, int* b) => a < b ? a : b;

    // y[j·ldy + q] = acc[q·Nr + j] for q < n, j < rows.
    private static void StoreTransposed(float* acc, int Nr, int n, int rows, float* y, long ldy)
    {
        int q = 0;
        for (; q + 8 <= n; q += 8)
        {
            int j = 0;
            for (; j + 8 <= rows; j += 8) Packing.TransposeBlock8(acc + (long)q * Nr + j, Nr, y + j * ldy + q, ldy);
            for (; j < rows; j++)
                for (int i = 0; i < 8; i++) y[j * ldy + q + i] = acc[(long)(q + i) * Nr + j];
        }
        for (; q < n; q++)
            for (int j = 0; j < rows; j++) y[j * ldy + q] = acc[(long)q * Nr + j];
    }

    /// <summary>
    /// dWs (m × Taps × Ldc, accumulated) += Σ_q dY[co][q] · xp[Base[q] + TapOffset[t] + c] over the positions q of the
    /// plan's channels-last images <paramref name="xp"/> (image-major) and dY (m × Images·P, row stride ldd: several
    /// images' dY side by side). <paramref name="overwrite"/>: dWs is written, not accumulated (the first images of a
    /// sum). Parallel over (tap, 32-channel panel) units when asked.
    /// </summary>
    public static void WeightGradient(Plan p, int m, float* dy, long ldd, float* xp, float* dws, bool overwrite, bool parallel)
    {
        int units = p.Taps * (p.Ldc / p.Nr);
        if (!parallel || units < 4) { WeightGradientUnits(p, m, dy, ldd, xp, dws, overwrite, 0, units); return; }
        nint d = (nint)dy, x = (nint)xp, o = (nint)dws;
        CpuParallel.ForChunks(units, (u0, u1) => WeightGradientUnits(p, m, (float*)d, ldd, (float*)x, (float*)o, overwrite, u0, u1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightGradientUnits(Plan p, int m, float* dy, long ldd, float* xp, float* dws, bool overwrite, int u0, int u1)
    {
        int Nr = p.Nr, total = p.Images * p.P, chunk = GradientChunk > 0 ? GradientChunk : total, cPanels = p.Ldc / Nr;
        long ldo = (long)p.Taps * p.Ldc;
        fixed (int* bases = p.Base)
            for (int u = u0; u < u1; u++)
            {
                int t = u / cPanels, c0 = u % cPanels * Nr;
                float* origin = xp + p.TapOffset[t] + c0;
                // Positions in chunks: a chunk's 32 channels of xp stay in L1 across all the output channels.
                for (int q0 = 0; q0 < total; q0 += chunk)
                {
                    int n = Math.Min(chunk, total - q0);
                    for (int co = 0; co < m; co += Mr)
                    {
                        float* d = dy + co * ldd + q0, o = dws + co * ldo + (long)t * p.Ldc + c0;
                        int rows = Math.Min(Mr, m - co);
                        bool accumulate = !overwrite || q0 > 0;
                        if (Nr == 32) GradientKernel6x32(n, d, ldd, rows, bases + q0, origin, o, ldo, accumulate);
                        else GradientKernel6x16(n, d, ldd, rows, bases + q0, origin, o, ldo, accumulate);
                    }
                }
            }
    }

    /// <summary>
    /// dW[r][c][t] = Σ_i dWs_i[r][t][c] over the parts' accumulators <paramref name="parts"/> (each rows × Taps × Ldc),
    /// for dW rows × C × Taps: the parts summed row by row into a small buffer in dW's order, then copied. Parallel over rows.
    /// </summary>
    public static void FoldWeightGradient(Plan p, int rows, nint[] parts, float* dw)
    {
        long rowLength = (long)p.Taps * p.Ldc, dwRow = (long)p.C * p.Taps;
        nint target = (nint)dw;
        CpuParallel.ForChunks(rows, (r0, r1) =>
        {
            float* sum = PinnedThreadBuffer.Get(rowLength, ScratchSlot.Secondary);
            float* row = PinnedThreadBuffer.Get(dwRow, ScratchSlot.Primary);
            for (int r = r0; r < r1; r++)
            {
                var s = new Span<float>(sum, checked((int)rowLength));
                new ReadOnlySpan<float>((float*)parts[0] + r * rowLength, s.Length).CopyTo(s);
                for (int i = 1; i < parts.Length; i++)
                    TensorPrimitives.Add(s, new ReadOnlySpan<float>((float*)parts[i] + r * rowLength, s.Length), s);
                for (int t = 0; t < p.Taps; t++)
                {
                    float* src = sum + t * p.Ldc;
                    for (int c = 0; c < p.C; c++) row[(long)c * p.Taps + t] = src[c];
                }
                new ReadOnlySpan<float>(row, checked((int)dwRow)).CopyTo(new Span<float>((float*)target + r * dwRow, (int)dwRow));
            }
        }, work: rows * rowLength);
    }
}
