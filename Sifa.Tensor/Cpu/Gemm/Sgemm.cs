using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// Single-precision matrix product on row-major matrices: a GotoBLAS/BLIS-style packed SGEMM.
/// op(A) is packed in MC×KC blocks of 6-row panels (kept in L2), op(B) in KC×NR panels packed just in time
/// (kept for the later row blocks; for short products 256 columns at a time, see <see cref="GroupedBMaxRows"/>), and a
/// 6×NR register-blocked micro-kernel sweeps them: 6×32 on AVX-512 (zmm), 6×16 on AVX2/FMA, 6×16 scalar as the
/// reference; the path is chosen at start-up (<see cref="CpuFeatures.Best"/>) and the blocks are sized from the
/// machine's L1d/L2 (<see cref="DefaultBlocks"/>); transposed operands are handled while packing, so all four cases run
/// the same kernel. On several cores (<see cref="GemmWorkers"/>) the columns of C are handed out dynamically with op(A)
/// packed once and shared, or, for an op(A) beyond half of L2 (<see cref="SharedAMaxFloats"/>) or a much smaller B, C is
/// cut into row or column stripes. A single row or column of C takes the unpacked <see cref="Gemv"/> path.
/// </summary>
internal static unsafe class Sgemm
{
    private const int MR = MicroKernel.MR, MaxNR = MicroKernel.MaxNR;

    // The active path and its panel width (32 floats for AVX-512, 16 otherwise). Every path packs op(A) in 6-row
    // panels; a packed op(A) (PackA) is cut into k-blocks of KC, so it must be used before the path or KC changes.
    private static CpuIsa s_isa = CpuFeatures.Best;
    private static int NR = NrOf(CpuFeatures.Best);

    // Block sizes (KC·NR floats of B stay in L1d, MC·KC of A in L2). Fields, not constants, so a tuning harness
    // (SIFA_GEMM_BLOCKS=kc,mc,nc) or a test can change them; the blocks are re-balanced per call so edges get no
    // runt blocks.
    internal static int KC = DefaultBlocks(CpuFeatures.Best).Kc, MC = DefaultBlocks(CpuFeatures.Best).Mc, NC = DefaultBlocks(CpuFeatures.Best).Nc;

    /// <summary>
    /// Test and benchmark hook: the micro-kernel in use (default <see cref="CpuFeatures.Best"/>). Setting it also
    /// resets the blocks to that path's defaults. Only a path the machine supports may be chosen.
    /// </summary>
    internal static CpuIsa Isa
    {
        get => s_isa;
        set
        {
            if (!CpuFeatures.Supports(value)) throw new PlatformNotSupportedException($"SGEMM path {value} is not supported on this machine (best: {CpuFeatures.Best})");
            s_isa = value;
            NR = NrOf(value);
            ResetBlocks();
        }
    }

    private static int NrOf(CpuIsa isa) => isa == CpuIsa.Avx512 ? MicroKernel.NR512 : MicroKernel.NR;

    /// <summary>
    /// Blocks for a path from the cache sizes: KC so that a KC×NR panel of B fills ~3/4 of L1d (the AVX2 tuning
    /// on a 32 KiB L1d: 384 × 16), MC so that an MC×KC block of A fills ~1/5 of L2 (the tuned 144 × 384 on a
    /// 1 MiB L2; the rest holds the B panels swept and C). SIFA_GEMM_BLOCKS=kc,mc,nc overrides them (tuning).
    /// </summary>
    internal static (int Kc, int Mc, int Nc) DefaultBlocks(CpuIsa isa)
    {
        int nr = NrOf(isa);
        // The AVX2 panel stays at 384 deep on larger L1s too: on a 48 KiB L1d (Zen 5) 576 × 16 left too little room for
        // the A micro-panel (6 × 576) and measured 2–3 % slower than 384 (256×3136·2304: 212–216 against 216–221 GFLOP/s).
        int kc = Math.Clamp(CpuFeatures.L1DataBytes * 3 / 4 / (nr * sizeof(float)) / 8 * 8, 64, nr == 16 ? 384 : 1024);
        int mc = Math.Clamp((int)Math.Round(0.21 * CpuFeatures.L2Bytes / (kc * sizeof(float)) / MR) * MR, 4 * MR, 1024);
        int nc = 2048;
        var env = Environment.GetEnvironmentVariable("SIFA_GEMM_BLOCKS")?.Split(',');
        if (env is { Length: 3 } && int.TryParse(env[0], out int k) && int.TryParse(env[1], out int m) && int.TryParse(env[2], out int n)
            && k > 0 && m > 0 && n > 0)
            (kc, mc, nc) = (k, m, n);
        return (kc, mc, nc);
    }

    private static void ResetBlocks() => (KC, MC, NC) = DefaultBlocks(s_isa);

    /// <summary>The active path and blocks, e.g. <c>avx512 6x32 kc=192 mc=288 nc=2048</c>.</summary>
    internal static string Describe() => $"{CpuFeatures.Name(s_isa)} {MR}x{NR} kc={KC} mc={MC} nc={NC}";

    /// <summary>
    /// <see cref="Multiply"/> products with at most this many rows (per thread's share) pack a non-transposed B
    /// <see cref="GroupColumns"/> columns at a time, each row of B read as one contiguous run, instead of one panel just
    /// in time with software prefetch. Few rows reuse each B panel only a few times, so its packing is a large share of
    /// the time. Measured in alternation (2 threads, Zen 5, B in the cache as in a repeated product):
    /// <list type="bullet">
    /// <item>64×3136·576 225 → 237 GFLOP/s on AVX2, 401 → 434 on AVX-512; 96×784·1152 +4–5 %;</item>
    /// <item>from 192 rows the just-in-time panel was 2–3 % faster (its panel is still in L1 when swept);</item>
    /// <item>but with B streamed from memory (seven B matrices in turn) the grouped packing was 10 % slower (318 against
    /// 354 GFLOP/s): the just-in-time prefetch overlaps the fetch with the kernel, the grouped pass does not. A
    /// convolution's per-image products (<see cref="MultiplyPacked"/>) stream their input once, so they keep the
    /// just-in-time panel (256→64 at 56²: 2.20 ms against 2.42 grouped).</item>
    /// </list>
    /// </summary>
    internal static int GroupedBMaxRows = 128;

    /// <summary>Columns of B packed per pass when <see cref="GroupedBMaxRows"/> applies (1 KiB of each row).</summary>
    internal const int GroupColumns = 256;

    /// <summary>Problems with fewer multiply-adds than this run on one thread (fork/join would cost more).</summary>
    internal static long ParallelThreshold = 1L << 21;

    /// <summary>
    /// Largest op(A) (in floats: half of L2, 512 KiB on a 1 MiB L2) that parallel column stripes pack once and share.
    /// A larger shared copy lives in L3, and every column chunk streams it from there; one column stripe per thread that
    /// packs each A block just before its use keeps the block in L2 and needs no barrier after packing. Measured in
    /// alternation (2 threads, Zen 5), shared 16 MiB → this limit: 1024³ 233 → 237 GFLOP/s on AVX2 and 452 → 460 on
    /// AVX-512, 256×3136·2304 231 → 234 on AVX2; 512×784·1152 and 64×3136·576 unchanged.
    /// </summary>
    internal static long SharedAMaxFloats = CpuFeatures.L2Bytes / 8;

    /// <summary>Work (flops) of the smallest column chunk a thread claims when op(A) is shared.</summary>
    internal static long MinChunkFlops = 1L << 24;

    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C, row-major. op(A) is M×K (A is K×M with lda ≥ M when transposed),
    /// op(B) is K×N (B is N×K when transposed). beta = 0 ignores C's old values (NaN included).
    /// </summary>
    /// <param name="transA">Whether A is stored transposed.</param>
    /// <param name="transB">Whether B is stored transposed.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A's first element.</param>
    /// <param name="lda">A's row stride.</param>
    /// <param name="b">B's first element.</param>
    /// <param name="ldb">B's row stride.</param>
    /// <param name="beta">Scale of C's old values.</param>
    /// <param name="c">C's first element.</param>
    /// <param name="ldc">C's row stride.</param>
    /// <param name="parallel">Whether to use all cores (false inside an already parallel loop).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool parallel = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        long work = (long)m * n * k;
        int threads = parallel && work >= ParallelThreshold ? Math.Max(1, CpuParallel.Threads) : 1;
        if (m == 1 || n == 1)
        {
            Gemv.Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
            return;
        }
        int nPanels = (n + NR - 1) / NR, mPanels = (m + MR - 1) / MR;
        int kc = Balance(k, KC, 1);
        // Split C into stripes of whole register tiles. Column stripes each need all of op(A), row stripes all
        // of op(B): prefer columns when A can be packed once and shared (below) or is the smaller operand,
        // but rows when B is much smaller than A (its copies are then cheap and A is never duplicated).
        long packedLen = (long)mPanels * MR * k;
        bool shareA = packedLen <= SharedAMaxFloats;
        bool byCols = nPanels >= threads && (mPanels < threads || ((shareA || n >= m) && 4L * n > m));
        int parts = Math.Min(threads, byCols ? nPanels : mPanels);
        if (parts <= 1)
        {
            Serial(transA, transB, m, n, k, kc, alpha, a, lda, b, ldb, beta, c, ldc, null);
            return;
        }

        if (byCols && shareA)
        {
            SharedA(transA, transB, m, n, k, kc, alpha, a, lda, b, ldb, beta, c, ldc, parts);
            return;
        }

        // Otherwise each thread takes one stripe and packs its own copy of the operand the stripes share.
        int nextStripe = -1;
        GemmWorkers.Run(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (_) =>
        {
            int t;
            while ((t = Interlocked.Increment(ref nextStripe)) < parts)
            {
                if (byCols)
                {
                    int j0 = (int)((long)nPanels * t / parts) * NR, j1 = Math.Min(n, (int)((long)nPanels * (t + 1) / parts) * NR);
                    float* bt = transB ? b + (long)j0 * ldb : b + j0;
                    Serial(transA, transB, m, j1 - j0, k, kc, alpha, a, lda, bt, ldb, beta, c + j0, ldc, null);
                }
                else
                {
                    int i0 = (int)((long)mPanels * t / parts) * MR, i1 = Math.Min(m, (int)((long)mPanels * (t + 1) / parts) * MR);
                    float* at = transA ? a + i0 : a + (long)i0 * lda;
                    Serial(transA, transB, i1 - i0, n, k, kc, alpha, at, lda, b, ldb, beta, c + (long)i0 * ldc, ldc, null);
                }
            }
        });
    }

    /// <summary>Floats <see cref="PackA"/> writes for an m×k op(A), rounded up to 64 bytes so packed matrices can sit back to back.</summary>
    /// <param name="m">Rows of op(A).</param>
    /// <param name="k">Columns of op(A).</param>
    /// <returns>The buffer length.</returns>
    internal static long PackedALength(int m, int k) => ((long)((m + MR - 1) / MR) * MR * k + 16 + 15) & ~15L;

    /// <summary>
    /// The calling thread's pinned, 64-byte aligned buffer for a shared packed op(A), the one <see cref="SharedA"/> uses.
    /// Serial products (<see cref="MultiplyPacked"/>, or <see cref="Multiply"/> with one thread) never touch it, so a
    /// caller may pack into it and run such products on any thread until it next calls a parallel product.
    /// </summary>
    /// <param name="floats">Floats needed.</param>
    /// <returns>The buffer.</returns>
    internal static float* SharedPackBuffer(long floats) => PackBuffers.Shared(floats);

    /// <summary>
    /// Packs all of op(A) (m×k) in the layout the blocked product reads, so that many products with the same A (a
    /// convolution's weights, once per image) pack it once; see <see cref="MultiplyPacked"/>.
    /// </summary>
    /// <param name="transA">A is stored k×m.</param>
    /// <param name="m">Rows of op(A).</param>
    /// <param name="k">Columns of op(A).</param>
    /// <param name="a">A.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="dst"><see cref="PackedALength"/> floats.</param>
    internal static void PackA(bool transA, int m, int k, float* a, int lda, float* dst)
    {
        int kc = Balance(k, KC, 1), mPanels = (m + MR - 1) / MR;
        for (int pc = 0; pc < k; pc += kc)
            Packing.PackA(transA, a, lda, 0, m, pc, Math.Min(kc, k - pc), dst + (long)pc * mPanels * MR);
    }

    /// <summary>C = op(A)·op(B) + beta·C on the calling thread, with op(A) (m×k) packed by <see cref="PackA"/>.</summary>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="packedA">op(A) packed by <see cref="PackA"/> with the same m and k.</param>
    /// <param name="transB">B is stored n×k.</param>
    /// <param name="b">B.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="beta">Scale of the old C (0: C is overwritten, NaN included).</param>
    /// <param name="c">C.</param>
    /// <param name="ldc">Row stride of C.</param>
    internal static void MultiplyPacked(int m, int n, int k, float* packedA, bool transB, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (m == 0 || n == 0) return;
        if (k == 0) { ScaleC(m, n, beta, c, ldc); return; }
        Serial(false, transB, m, n, k, Balance(k, KC, 1), 1f, null, 0, b, ldb, beta, c, ldc, packedA, streamedB: true);
    }

    /// <summary>
    /// Parallel product on column chunks that share one packed copy of op(A), in a single fork/join:
    /// every worker first claims A-packing items (one k-block × a slice of the row panels) until none are left,
    /// waits until all claimed items are done, then claims column chunks. Items are claimed dynamically, so
    /// a worker that starts late (or never) only means the others do its share; nobody waits on unstarted work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SharedA(bool transA, bool transB, int m, int n, int k, int kc, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int parts)
    {
        int nPanels = (n + NR - 1) / NR, mPanels = (m + MR - 1) / MR;
        float* packedA = PackBuffers.Shared((long)mPanels * MR * k + 16);   // owned by the calling thread
        int kBlocks = (k + kc - 1) / kc, slices = parts, packItems = kBlocks * slices;
        int nextPack = -1, packDone = 0, nextPanel = 0;
        // The smallest chunk is about MinChunkFlops of work: the final chunks bound how long one core can idle
        // waiting for the other at the end, while each chunk still reuses its A blocks over a few panels.
        int minChunk = (int)Math.Clamp(MinChunkFlops / (2.0 * m * k * NR), 1, Math.Max(1, nPanels / (2 * parts)));
        // Fully optimised from the first call (no tiering): the loops below run once per product.
        GemmWorkers.Run(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (_) =>
        {
            int item;
            while ((item = Interlocked.Increment(ref nextPack)) < packItems)
            {
                int pc = item / slices * kc, kb = Math.Min(kc, k - pc), t = item % slices;
                int p0 = mPanels * t / slices, p1 = mPanels * (t + 1) / slices;
                if (p1 > p0)
                    Packing.PackA(transA, a, lda, p0 * MR, Math.Min(m, p1 * MR) - p0 * MR, pc, kb,
                        packedA + (long)pc * mPanels * MR + (long)p0 * MR * kb);
                Interlocked.Increment(ref packDone);
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref packDone) < packItems) spin.SpinOnce(sleep1Threshold: -1);

            // Column chunks cost no extra packing (B is packed per column anyway), so they are claimed in
            // shrinking sizes (guided scheduling): big chunks first keep the overhead low, small ones at the end
            // mean a core slowed by other work holds up the product only briefly.
            while (true)
            {
                int start = Volatile.Read(ref nextPanel);
                if (start >= nPanels) break;
                int size = Math.Max(minChunk, (nPanels - start) / (2 * parts));
                int end = Math.Min(nPanels, start + size);
                if (Interlocked.CompareExchange(ref nextPanel, end, start) != start) continue;
                int j0 = start * NR, j1 = Math.Min(n, end * NR);
                float* bt = transB ? b + (long)j0 * ldb : b + j0;
                Serial(transA, transB, m, j1 - j0, k, kc, alpha, a, lda, bt, ldb, beta, c + j0, ldc, packedA);
            }
        });
    }

    /// <summary>
    /// One thread's blocked GEMM over the whole (sub-)problem with k-blocks of <paramref name="kc"/>.
    /// <paramref name="packedA"/>, when not null, is all of op(A) already packed (k-block by k-block, each
    /// ⌈m/6⌉ panels of 6·kb floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Serial(bool transA, bool transB, int m, int n, int k, int kc, float alpha,
        float* a, long lda, float* b, long ldb, float beta, float* c, long ldc, float* packedA, bool streamedB = false)
    {
        int NR = Sgemm.NR;   // read once, so the packing and the kernel of this call always agree
        CpuIsa isa = s_isa;
        // Even block sizes (rounded to the register tile) avoid a thin last block that wastes a whole pass.
        int mcMax = Balance(m, MC, MR), ncMax = Balance(n, NC, NR);
        long mPanelsAll = (m + MR - 1) / MR;
        float* bufA = packedA != null ? null : PackBuffers.A((long)mcMax * kc + 16);
        float* bufB = PackBuffers.B((long)ncMax * kc + 16);
        float* tile = stackalloc float[MR * MaxNR];
        float* scale = stackalloc float[4];   // [alpha, beta of this k-block, 1, 0] for the kernels
        scale[0] = alpha; scale[2] = 1f; scale[3] = 0f;
        bool groupedB = !transB && !streamedB && m <= GroupedBMaxRows && isa != CpuIsa.Scalar;

        for (int jc = 0; jc < n; jc += ncMax)
        {
            int nc = Math.Min(ncMax, n - jc);
            for (int pc = 0; pc < k; pc += kc)
            {
                int kb = Math.Min(kc, k - pc);
                // Later k-blocks accumulate onto what the first one wrote.
                float betaBlock = pc == 0 ? beta : 1f;
                scale[1] = betaBlock;
                for (int ic = 0; ic < m; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, m - ic);
                    float* blockA = packedA != null ? packedA + pc * mPanelsAll * MR + (long)ic * kb : bufA;
                    if (packedA == null) Packing.PackA(transA, a, lda, ic, mc, pc, kb, bufA);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        float* bp = bufB + (long)jr * kb;
                        // B is packed just in time, one 16-wide panel at a time during the first row block: the
                        // fresh panel is still in L1 for its first sweep, and later row blocks reuse it from L2/L3.
                        // Non-transposed B is read 64 bytes per row at a large stride, which the hardware
                        // prefetchers cover poorly; so while this panel is swept, the rows of the next one are
                        // prefetched a slice per kernel call and packing it then hits the cache. (Transposed B is
                        // 16 sequential streams, prefetched well by hardware; software prefetch measured slower.)
                        float* nextB = null;
                        int rowsLeft = 0, rowsPerCall = 0, nextRow = 0;
                        if (ic == 0 && groupedB)
                        {
                            if (jr % GroupColumns == 0) PackGroupB(b, ldb, pc, kb, jc + jr, Math.Min(GroupColumns, nc - jr), bp, NR);
                        }
                        else if (ic == 0)
                        {
                            Packing.PackB(transB, b, ldb, pc, kb, jc + jr, nr, bp, NR);
                            if (!transB && jr + NR < nc && Sse.IsSupported)
                            {
                                nextB = b + (long)pc * ldb + jc + jr + NR;
                                rowsLeft = kb;
                                int calls = (mc + MR - 1) / MR;
                                rowsPerCall = (kb + calls - 1) / calls;
                            }
                        }
                        float* cBase = c + (long)ic * ldc + jc + jr;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            if (nextRow < rowsLeft)
                            {
                                int end = Math.Min(rowsLeft, nextRow + rowsPerCall);
                                for (; nextRow < end; nextRow++)
                                {
                                    float* row = nextB + nextRow * ldb;
                                    // The NR floats may straddle one line more than NR/16.
                                    for (int q = 0; q < NR; q += 16) Sse.Prefetch0(row + q);
                                    Sse.Prefetch0(row + NR - 1);
                                }
                            }
                            float* ap = blockA + (long)ir * kb;
                            float* cij = cBase + ir * ldc;
                            if (mr == MR && nr == NR) Kernel(isa, kb, ap, bp, cij, ldc, scale);
                            else if (mr == 4 && nr == NR && isa != CpuIsa.Scalar) Kernel4(isa, kb, ap, bp, cij, ldc, scale);
                            else
                            {
                                // Edge tile: the packed panels are zero-padded, so compute the full 6×NR tile
                                // into a scratch buffer and merge only the valid part.
                                Kernel(isa, kb, ap, bp, tile, NR, scale + 2);
                                MergeTile(tile, NR, mr, nr, alpha, betaBlock, cij, ldc);
                            }
                        }
                    }
                }
            }
        }
    }

    // Columns [j0, j0 + cols) of a non-transposed B: whole panels row by row, a last narrower one zero-padded.
    private static void PackGroupB(float* b, long ldb, int pc, int kb, int j0, int cols, float* dst, int NR)
    {
        int whole = cols / NR * NR;
        if (whole > 0) Packing.PackBRows(b, ldb, pc, kb, j0, whole, dst, NR);
        if (whole < cols) Packing.PackB(false, b, ldb, pc, kb, j0 + whole, cols - whole, dst + (long)whole * kb, NR);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel(CpuIsa isa, int kb, float* ap, float* bp, float* c, long ldc, float* scale)
    {
        if (isa == CpuIsa.Avx512) MicroKernel.Avx512Fma6x32(kb, ap, bp, c, ldc, scale);
        else if (isa == CpuIsa.Avx2) MicroKernel.Avx2Fma6x16(kb, ap, bp, c, ldc, scale);
        else MicroKernel.Scalar6x16(kb, ap, bp, c, ldc, scale);
    }

    // The last row panel's 4 rows written directly (MicroKernel.Edge.cs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel4(CpuIsa isa, int kb, float* ap, float* bp, float* c, long ldc, float* scale)
    {
        if (isa == CpuIsa.Avx512) MicroKernel.Avx512Fma4x32(kb, ap, bp, c, ldc, scale);
        else MicroKernel.Avx2Fma4x16(kb, ap, bp, c, ldc, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile(float* tile, int NR, int mr, int nr, float alpha, float beta, float* c, long ldc)
    {
        for (int r = 0; r < mr; r++)
        {
            float* cr = c + r * ldc, tr = tile + r * NR;
            if (beta == 0) for (int j = 0; j < nr; j++) cr[j] = alpha * tr[j];
            else for (int j = 0; j < nr; j++) cr[j] = alpha * tr[j] + beta * cr[j];
        }
    }

    /// <summary>C = beta · C (beta = 0 writes zeros without reading C).</summary>
    private static void ScaleC(int m, int n, float beta, float* c, long ldc)
    {
        if (beta == 1) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + i * ldc, n);
            if (beta == 0) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>Splits <paramref name="total"/> into ⌈total/max⌉ near-equal blocks, each rounded up to a multiple of <paramref name="align"/>.</summary>
    private static int Balance(int total, int max, int align)
    {
        max = Math.Max(align, max / align * align);
        int blocks = (total + max - 1) / max;
        int size = (total + blocks - 1) / blocks;
        return Math.Min(max, (size + align - 1) / align * align);
    }

    /// <summary>Per-thread, pinned, 64-byte aligned pack buffers that grow on demand and are reused across calls.</summary>
    private static class PackBuffers
    {
        [ThreadStatic] private static float[]? t_a;
        [ThreadStatic] private static float[]? t_b;
        [ThreadStatic] private static float[]? t_shared;

        public static float* A(long floats) => Get(ref t_a, floats);

        public static float* B(long floats) => Get(ref t_b, floats);

        public static float* Shared(long floats) => Get(ref t_shared, floats);

        private static float* Get(ref float[]? buf, long floats)
        {
            if (buf is null || buf.LongLength < floats + 16)
                buf = GC.AllocateUninitializedArray<float>((int)(floats + 16), pinned: true);
            nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
            return (float*)((p + 63) & ~(nint)63);
        }
    }
}
