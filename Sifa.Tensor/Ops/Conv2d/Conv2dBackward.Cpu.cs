using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace Sifa.Tensors.Cpu;

// The gradients of the CPU convolution: dW, dx and dbias per batch part, on the same paths as the forward (Conv2dKernels.Cpu.cs).
internal static partial class Conv2dKernels
{
    public static unsafe (Tensor? Input, Tensor? Weight, Tensor? Bias) Backward(Tensor dy, Tensor x, Tensor weight, Conv2dGeometry geometry,
        bool needInput, bool needWeight, bool needBias)
    {
        var g = geometry;
        var s = new ConvShape(x.Shape, weight.Shape, g);
        if (!needInput && !needWeight && !needBias) return (null, null, null);
        dy = dy.Contiguous(); x = x.Contiguous(); weight = weight.Contiguous();
        var dx = needInput ? Tensor.Empty(x.Shape) : null;
        var dw = needWeight ? Tensor.Empty(weight.Shape) : null;
        var db = needBias ? Tensor.Empty(s.Cout) : null;
        float[] xd = CpuBackend.Data(x), wd = CpuBackend.Data(weight), dyd = CpuBackend.Data(dy);
        float[]? dxd = dx == null ? null : CpuBackend.Data(dx);
        int xo = x.Offset, wo = weight.Offset, dyo = dy.Offset;
        int parts = BatchParts(s);
        int wSize = weight.Numel;

        // Part 0 accumulates straight into dw; the others into pooled buffers summed at the end.
        var wAcc = new float[]?[parts];
        var bAcc = new double[]?[parts];
        // The channels-last path sums dW per part in its own layout ([co][tap][c], ChannelsLastGemm), folded at the end.
        // One accumulator per part, not a per-thread scratch: a thread may run two parts, and all are read after the loop.
        bool clDw = needWeight && s.ChannelsLast;
        var clParts = clDw ? new nint[parts] : null;
        var clArrays = clDw ? new float[parts][] : null;
        var clPins = clDw ? new GCHandle[parts] : null;
        if (needWeight && !clDw)
        {
            wAcc[0] = CpuBackend.Data(dw!);
            for (int p = 1; p < parts; p++) wAcc[p] = RentExact(wSize);
        }
        if (needBias) for (int p = 0; p < parts; p++) bAcc[p] = new double[s.Cout];
        // The input gradient of a stride-1 convolution is a stride-1 convolution of dY padded by (k−1)·d − pad.
        int padH2 = (s.Kh - 1) * g.DilationH - g.PadH, padW2 = (s.Kw - 1) * g.DilationW - g.PadW;
        bool implicitDx = needInput && s.Implicit && g.StrideH == 1 && g.StrideW == 1 && padH2 >= 0 && padW2 >= 0;
        var dxGrid = new ImplicitGemm.Plan(s.Mg, s.Ho, s.Wo, s.Kh, s.Kw, Math.Max(0, padH2), Math.Max(0, padW2), g.DilationH, g.DilationW);
        float* flippedW = implicitDx ? ImplicitWeights(wd, wo, s, flipped: true) : null;
        int[]? dxOffsets = implicitDx ? ImplicitGemm.Offsets(dxGrid, s.Kh, s.Kw, g.DilationH, g.DilationW) : null;
        // On the channels-last path dW always, and dx at stride 1, read channels-last copies of x and of the padded dY.
        bool clDx = needInput && s.ChannelsLast && g.StrideH == 1 && g.StrideW == 1 && padH2 >= 0 && padW2 >= 0;
        var cl = s.ChannelsLast ? InputPlan(s, g, 1) : null;
        var clDy = clDx ? new ChannelsLastGemm.Plan(s.Mg, s.Ho, s.Wo, s.Kh, s.Kw, padH2, padW2, g.DilationH, g.DilationW, 1, 1) : null;
        float* clDxW = clDx ? ChannelsLastWeights(wd, wo, s, flipped: true) : null;
        long clDxStride = ChannelsLastGemm.PackedLength(s.Cg, s.Mg, s.Kh * s.Kw);
        long clDwLength = cl != null ? (long)s.Mg * cl.Taps * cl.Ldc : 0;
        nint packedT = parts > 1 && needInput && !implicitDx && !clDx ? PackWeights(wd, wo, s, transposed: true) : 0;
        // dW on the padded grid too (ImplicitGemm.WeightGradient): per part, dWᵀ of every group (K × ldt) summed over
        // its images and added into dW at the end.
        // Each kernel call reduces over the P output positions, so a short P (small grids) leaves the call overhead
        // and the first touch of six streams exposed; unfolding wins there unless the output is narrow (measured).
        bool implicitDw = needWeight && s.Implicit && ImplicitWeightGradient && (s.P >= 512 || s.Mg <= 32 || ImplicitOverride == true);
        var grid = new ImplicitGemm.Plan(s.Cg, s.H, s.W, s.Kh, s.Kw, g.PadH, g.PadW, g.DilationH, g.DilationW, g.StrideH, g.StrideW);
        int[]? offsets = implicitDw ? ImplicitGemm.Offsets(grid, s.Kh, s.Kw, g.DilationH, g.DilationW) : null;
        int ldt = (s.Mg + 31) / 32 * 32;
        long packedStride = Sgemm.PackedALength(s.K, s.Mg);

        // dx of one image's group: the implicit GEMM of the flipped, transposed weights over dY's padded grid.
        void ImplicitDx(float* dyg, float* dxg, int grp, bool par)
        {
            float* dyp = PinnedThreadBuffer.Get(dxGrid.PaddedLength);
            ImplicitGemm.Pad(dyg, dxGrid, dyp);
            fixed (int* po = dxOffsets)
                ImplicitGemm.Run(dxGrid, s.Cg, flippedW + grp * ImplicitGemm.PackedLength(s.Cg, s.Mg * s.Kh * s.Kw), dyp, po, dxg, (long)s.H * s.W, par);
        }

        // dx of one image's group by dcols = Wᵀ·dY folded back: all columns at once on all cores, else in chunks.
        void UnfoldedDx(float* dyg, float* dxg, float* wt, bool par)
        {
            int chunk = par ? s.P : ChunkWidth(s);
            float* cols = PinnedThreadBuffer.Get((long)s.K * chunk);
            for (int p0 = 0; p0 < s.P; p0 += chunk)
            {
                int w = Math.Min(chunk, s.P - p0);
                ProductT(wt, packedT != 0, s.K, w, s.Mg, dyg + p0, s.P, cols, w, par);
                if (par) Col2ImPar(cols, s, g, dxg, par);
                else Col2Im(cols, 0, s.Cg, s, g, dxg, p0, p0 + w, clear: p0 == 0);
            }
        }

        // Images [n, n + count) of one group in one product per gradient: their unfolded columns side by side
        // (K × count·P) and dY gathered to Mg × count·P; dW sums over all their positions at once and dcols is folded
        // back image by image.
        int group = parts > 1 && !implicitDw && !implicitDx && cl == null ? ImageGroup(s, (s.N + parts - 1) / parts) : 1;
        int clGroup = cl != null && parts > 1 ? ChannelsLastGroup(s, (s.N + parts - 1) / parts) : 1;
        var clPlans = clGroup > 1 ? ChannelsLastPlans(clGroup, i => InputPlan(s, g, i)) : null;
        var clDyPlans = clGroup > 1 && clDx
            ? ChannelsLastPlans(clGroup, i => new ChannelsLastGemm.Plan(s.Mg, s.Ho, s.Wo, s.Kh, s.Kw, padH2, padW2, g.DilationH, g.DilationW, 1, 1, i))
            : null;

        // dY of images [n, n + count) of one group side by side (Mg × count·P, row stride ld).
        void GatherDy(float* pdy, int n, int count, int grp, float* dyb, int ld)
        {
            for (int i = 0; i < count; i++)
                for (int co = 0; co < s.Mg; co++)
                    SimdMath.CopyRun(pdy + dyo + ((long)(n + i) * s.Cout + grp * s.Mg + co) * s.P, dyb + (long)co * ld + (long)i * s.P, s.P);
        }

        // Images [n, n + count) of one group on the channels-last path, several per call (small images).
        void ChannelsLastImages(int n, int count, int grp, float* px, float* pdy, float* pdx, float* pdws, bool overwrite, float* pw)
        {
            long xImage = (long)s.C * s.H * s.W, dyImage = (long)s.Cout * s.P;
            float* xg = px + xo + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W;
            float* dyg = pdy + dyo + ((long)n * s.Cout + (long)grp * s.Mg) * s.P;
            float* dxg = needInput ? pdx + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W : null;
            if (needWeight)
            {
                var plan = clPlans![count];
                float* xp = PinnedThreadBuffer.Get(plan.PaddedLength);
                ChannelsLastGemm.ToChannelsLast(xg, xImage, plan, xp);
                // dY of the images side by side, so the kernel runs over all their positions at once.
                int ld = count * s.P;
                float* dyb = PinnedThreadBuffer.Get((long)s.Mg * ld, ScratchSlot.Secondary);
                GatherDy(pdy, n, count, grp, dyb, ld);
                ChannelsLastGemm.WeightGradient(plan, s.Mg, dyb, ld, xp, pdws + grp * clDwLength, overwrite, false);
            }
            if (clDx)
            {
                var plan = clDyPlans![count];
                float* dyp = PinnedThreadBuffer.Get(plan.PaddedLength);
                ChannelsLastGemm.ToChannelsLast(dyg, dyImage, plan, dyp);
                ChannelsLastGemm.Forward(plan, s.Cg, clDxW + grp * clDxStride, dyp, dxg, (long)s.H * s.W, xImage, false);
            }
            else if (needInput)
            {
                for (int i = 0; i < count; i++)
                {
                    float* wt = packedT != 0 ? (float*)packedT + grp * packedStride : pw + wo + (long)grp * s.Mg * s.K;
                    UnfoldedDx(dyg + i * dyImage, dxg + i * xImage, wt, false);
                }
            }
        }
        void ImagesBackward(int n, int count, int grp, float* px, float* pdy, float* pdx, float* pwa, float* pw)
        {
            int ld = count * s.P;
            float* cols = PinnedThreadBuffer.Get((long)s.K * ld);
            float* dyb = PinnedThreadBuffer.Get((long)s.Mg * ld, ScratchSlot.Secondary);
            GatherDy(pdy, n, count, grp, dyb, ld);
            if (needWeight)
            {
                for (int i = 0; i < count; i++)
                    Im2Col(px + xo + ((long)(n + i) * s.C + (long)grp * s.Cg) * s.H * s.W, 0, s.Cg, s, g, cols + (long)i * s.P, 0, s.P, ld);
                Sgemm.Multiply(false, true, s.Mg, s.K, ld, 1f, dyb, ld, cols, ld, 1f, pwa + (long)grp * s.Mg * s.K, s.K, false);
            }
            if (needInput)
            {
                float* wt = packedT != 0 ? (float*)packedT + grp * packedStride : pw + wo + (long)grp * s.Mg * s.K;
                ProductT(wt, packedT != 0, s.K, ld, s.Mg, dyb, ld, cols, ld, false);
                for (int i = 0; i < count; i++)
                    Col2Im(cols + (long)i * s.P, 0, s.Cg, s, g, pdx + ((long)(n + i) * s.C + (long)grp * s.Cg) * s.H * s.W, 0, s.P, clear: true, ld);
            }
        }

        void Part(int p, bool par)
        {
            int n0 = (int)((long)s.N * p / parts), n1 = (int)((long)s.N * (p + 1) / parts);
            var wa = wAcc[p];
            var ba = bAcc[p];
            if (wa != null) wa.AsSpan(0, wSize).Clear();
            // dWᵀ of every group, summed over this part's images on this part's thread.
            float* pdwt = implicitDw ? PinnedThreadBuffer.Get((long)s.Groups * s.K * ldt, ScratchSlot.WeightGradient) : null;
            if (implicitDw) new Span<float>(pdwt, checked(s.Groups * s.K * ldt)).Clear();
            // Or dW of every group as [co][tap][c] (ChannelsLastGemm.WeightGradient), folded into dW at the end.
            float* pdws = clDw ? (float*)clParts![p] : null;
            fixed (float* px = xd, pw = wd, pdy = dyd, pdx = dxd, pwa = wa)
            {
                for (int n = n0; n < n1; n++)
                {
                    float* dyn = pdy + dyo + (long)n * s.Cout * s.P;
                    if (clGroup > 1 || group > 1)
                    {
                        // Several small images per call or product, as in the forward.
                        int count = Math.Min(clGroup > 1 ? clGroup : group, n1 - n);
                        for (int grp = 0; grp < s.Groups; grp++)
                        {
                            if (clGroup > 1) ChannelsLastImages(n, count, grp, px, pdy, pdx, pdws, n == n0, pw);
                            else ImagesBackward(n, count, grp, px, pdy, pdx, pwa, pw);
                        }
                        n += count - 1;
                        continue;
                    }
                    for (int grp = 0; grp < s.Groups; grp++)
                    {
                        float* dyg = dyn + (long)grp * s.Mg * s.P;
                        float* xg = px + xo + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W;
                        float* dxg = needInput ? pdx + ((long)n * s.C + (long)grp * s.Cg) * s.H * s.W : null;
                        float* dwg = needWeight ? pwa + (long)grp * s.Mg * s.K : null;
                        // Wᵀ for dcols = Wᵀ·dY (or dx = Wᵀ·dY for a direct convolution, where K = Cg).
                        float* wt = packedT != 0 ? (float*)packedT + grp * packedStride : pw + wo + (long)grp * s.Mg * s.K;
                        if (s.Direct)
                        {
                            if (needWeight) Sgemm.Multiply(false, true, s.Mg, s.K, s.P, 1f, dyg, s.P, xg, s.P, 1f, dwg, s.K, par);
                            if (needInput) ProductT(wt, packedT != 0, s.K, s.P, s.Mg, dyg, s.P, dxg, s.P, par);
                        }
                        else if (cl != null)
                        {
                            if (needWeight)
                            {
                                float* xp = PinnedThreadBuffer.Get(cl.PaddedLength);
                                ChannelsLastGemm.ToChannelsLast(xg, 0, cl, xp);
                                ChannelsLastGemm.WeightGradient(cl, s.Mg, dyg, s.P, xp, pdws + grp * clDwLength, n == n0, par);
                            }
                            if (clDx)
                            {
                                float* dyp = PinnedThreadBuffer.Get(clDy!.PaddedLength);
                                ChannelsLastGemm.ToChannelsLast(dyg, 0, clDy, dyp);
                                ChannelsLastGemm.Forward(clDy, s.Cg, clDxW + grp * clDxStride, dyp, dxg, (long)s.H * s.W, 0, par);
                            }
                            else if (needInput) UnfoldedDx(dyg, dxg, wt, par);
                        }
                        else if (implicitDw)
                        {
                            // Neither gradient unfolds: dW from the padded x and dYᵀ, dx from the padded dY.
                            float* xp = PinnedThreadBuffer.Get(grid.PaddedLength);
                            ImplicitGemm.Pad(xg, grid, xp);
                            float* dyt = PinnedThreadBuffer.Get((long)s.P * ldt, ScratchSlot.Secondary);
                            ImplicitGemm.Transpose(dyg, s.Mg, s.P, s.P, dyt, ldt);
                            fixed (int* po = offsets)
                                ImplicitGemm.WeightGradient(grid, xp, po, dyt, ldt, pdwt + (long)grp * s.K * ldt, par);
                            if (implicitDx) ImplicitDx(dyg, dxg, grp, par);
                            else if (needInput) UnfoldedDx(dyg, dxg, wt, par);
                        }
                        else if (par || !(needWeight || needInput))
                        {
                            float* cols = needWeight || (needInput && !implicitDx) ? PinnedThreadBuffer.Get((long)s.K * s.P) : null;
                            if (needWeight)
                            {
                                Im2ColPar(xg, s, g, cols, par);
                                Sgemm.Multiply(false, true, s.Mg, s.K, s.P, 1f, dyg, s.P, cols, s.P, 1f, dwg, s.K, par);
                            }
                            if (implicitDx) ImplicitDx(dyg, dxg, grp, par);
                            else if (needInput)
                            {
                                ProductT(wt, packedT != 0, s.K, s.P, s.Mg, dyg, s.P, cols, s.P, par);
                                Col2ImPar(cols, s, g, dxg, par);
                            }
                        }
                        else
                        {
                            // One thread per image: chunks of output columns, as in the forward. dW sums the chunks'
                            // products; each chunk's dcols is folded into dx (cleared once) before the next.
                            int chunk = ChunkWidth(s);
                            float* cols = PinnedThreadBuffer.Get((long)s.K * chunk);
                            for (int p0 = 0; p0 < s.P; p0 += chunk)
                            {
                                int w = Math.Min(chunk, s.P - p0);
                                if (needWeight)
                                {
                                    Im2Col(xg, 0, s.Cg, s, g, cols, p0, p0 + w);
                                    Sgemm.Multiply(false, true, s.Mg, s.K, w, 1f, dyg + p0, s.P, cols, w, 1f, dwg, s.K, false);
                                }
                                if (needInput && !implicitDx)
                                {
                                    ProductT(wt, packedT != 0, s.K, w, s.Mg, dyg + p0, s.P, cols, w, false);
                                    Col2Im(cols, 0, s.Cg, s, g, dxg, p0, p0 + w, clear: p0 == 0);
                                }
                            }
                            if (implicitDx) ImplicitDx(dyg, dxg, grp, false);
                        }
                    }
                }
                // dbias sums dY per output channel over the part's images.
                for (int n = n0; n < n1 && ba != null; n++)
                    for (int co = 0; co < s.Cout; co++)
                        ba[co] += TensorPrimitives.Sum(new ReadOnlySpan<float>(pdy + dyo + ((long)n * s.Cout + co) * s.P, s.P));
                if (implicitDw)
                    for (int grp = 0; grp < s.Groups; grp++)
                    {
                        float* t = pdwt + (long)grp * s.K * ldt, d = pwa + (long)grp * s.Mg * s.K;
                        for (int co = 0; co < s.Mg; co++)
                            for (int k = 0; k < s.K; k++) d[(long)co * s.K + k] += t[(long)k * ldt + co];
                    }
            }
        }

        for (int p = 0; clDw && p < parts; p++)
        {
            clArrays![p] = RentExact(checked((int)(s.Groups * clDwLength)));
            clPins![p] = GCHandle.Alloc(clArrays[p], GCHandleType.Pinned);
            clParts![p] = clPins[p].AddrOfPinnedObject();
        }
        try
        {
            if (parts > 1) CpuParallel.For(parts, p => Part(p, false));
            else Part(0, true);
            if (clDw)
                fixed (float* pdw = CpuBackend.Data(dw!))
                    ChannelsLastGemm.FoldWeightGradient(cl!, s.Groups * s.Mg, clParts!, pdw);
        }
        finally
        {
            for (int p = 0; clDw && p < parts; p++)
            {
                if (clPins![p].IsAllocated) clPins[p].Free();
                if (clArrays![p] != null) BufferPool.Return(clArrays[p]);
            }
        }

        if (needWeight && !clDw)
        {
            var w0 = wAcc[0]!.AsSpan(0, wSize);
            for (int p = 1; p < parts; p++)
            {
                TensorPrimitives.Add(w0, wAcc[p]!.AsSpan(0, wSize), w0);
                BufferPool.Return(wAcc[p]!);
            }
        }
        if (needBias)
        {
            var bs = CpuBackend.Data(db!);
            for (int co = 0; co < s.Cout; co++)
            {
                double t = 0;
                for (int p = 0; p < parts; p++) t += bAcc[p]![co];
                bs[co] = (float)t;
            }
        }
        return (dx, dw, db);
    }

    // A per-part accumulator of exactly this length from the buffer pool (ArrayPool.Shared would round a 2.4 M-float
    // 3×3 kernel up to a 4 M-float array and keep it): the next step asks for the same lengths.
    private static float[] RentExact(int length) => BufferPool.TryRent(length) ?? GC.AllocateUninitializedArray<float>(length);
}
