using ILGPU;

namespace Sifa.Tensors.Gpu;

/// <summary>Sizes of one convolution (PyTorch conv2d, NCHW) in the form the kernels read.</summary>
internal struct ConvDims
{
    public int N, C, H, W, Cout, Cg, Mg, Kh, Kw, Ho, Wo, Sh, Sw, Ph, Pw, Dh, Dw, HasBias;

    public ConvDims(int[] x, int[] w, Conv2dGeometry g, bool hasBias)
    {
        N = x[0]; C = x[1]; H = x[2]; W = x[3];
        Cout = w[0]; Kh = w[2]; Kw = w[3];
        Cg = C / g.Groups; Mg = Cout / g.Groups;
        Ho = g.OutH(H, Kh); Wo = g.OutW(W, Kw);
        Sh = g.StrideH; Sw = g.StrideW; Ph = g.PadH; Pw = g.PadW; Dh = g.DilationH; Dw = g.DilationW;
        HasBias = hasBias ? 1 : 0;
    }

    /// <summary>Reduction length of the forward product: one group's input channels × kernel taps.</summary>
    public readonly int K => Cg * Kh * Kw;

    /// <summary>Output positions per image.</summary>
    public readonly int P => Ho * Wo;

    /// <summary>
    /// The im2col matrix of group g without building it: row k = (ci, ki, kj) of the unfolded patch, column
    /// col = (n, oh, ow); zero where the tap falls in the padding.
    /// </summary>
    public readonly float Im2Col(ArrayView<float> x, int g, int k, int col)
    {
        int taps = Kh * Kw;
        int ci = k / taps, kk = k - ci * taps;
        int ki = kk / Kw, kj = kk - ki * Kw;
        int n = col / P, pos = col - n * P;
        int oh = pos / Wo, ow = pos - oh * Wo;
        int ih = oh * Sh - Ph + ki * Dh, iw = ow * Sw - Pw + kj * Dw;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0f;
        return x[((n * C + g * Cg + ci) * H + ih) * W + iw];
    }
}

/// <summary>
/// One implicit GEMM: C(g)[row, col] = Σ_r A(g)[row, r]·B(g)[r, col] per group g, where the operands are read through
/// index maps instead of being materialised (no im2col buffer), and <see cref="Store"/> writes the result where the
/// op wants it.
/// </summary>
internal interface IImplicitGemm
{
    int Rows { get; }
    int Cols { get; }
    int Depth { get; }
    float A(ArrayView<float> a, int g, int row, int r);
    float B(ArrayView<float> b, int g, int r, int col);
    void Store(ArrayView<float> c, ArrayView<float> bias, int g, int row, int col, float value);
}

/// <summary>Forward: y_g (Mg × N·P) = W_g (Mg × K) · im2col_g (K × N·P), plus the bias.</summary>
internal struct ConvForwardGemm : IImplicitGemm
{
    public ConvDims D;

    public readonly int Rows => D.Mg;
    public readonly int Cols => D.N * D.P;
    public readonly int Depth => D.K;

    public readonly float A(ArrayView<float> w, int g, int row, int r) => w[(g * D.Mg + row) * D.K + r];

    public readonly float B(ArrayView<float> x, int g, int r, int col) => D.Im2Col(x, g, r, col);

    public readonly void Store(ArrayView<float> y, ArrayView<float> bias, int g, int row, int col, float value)
    {
        int n = col / D.P, pos = col - n * D.P, co = g * D.Mg + row;
        y[(n * D.Cout + co) * D.P + pos] = D.HasBias != 0 ? value + bias[co] : value;
    }
}

/// <summary>
/// Input gradient as a gather (each dx element sums its own terms: deterministic, no col2im scatter):
/// dx_g (Cg × N·H·W) = Σ over r = (co, ki, kj) of W[co, ci, ki, kj] · dy[n, co, oh, ow] for the output position whose
/// tap (ki, kj) lands on (ih, iw), i.e. oh·sh = ih + ph − ki·dh (zero when not a whole step or outside).
/// </summary>
internal struct ConvInputGradGemm : IImplicitGemm
{
    public ConvDims D;

    public readonly int Rows => D.Cg;
    public readonly int Cols => D.N * D.H * D.W;
    public readonly int Depth => D.Mg * D.Kh * D.Kw;

    public readonly float A(ArrayView<float> w, int g, int row, int r)
    {
        int taps = D.Kh * D.Kw;
        int co = r / taps, kk = r - co * taps;
        return w[((g * D.Mg + co) * D.Cg + row) * taps + kk];
    }

    public readonly float B(ArrayView<float> dy, int g, int r, int col)
    {
        int taps = D.Kh * D.Kw, hw = D.H * D.W;
        int co = r / taps, kk = r - co * taps;
        int ki = kk / D.Kw, kj = kk - ki * D.Kw;
        int n = col / hw, q = col - n * hw;
        int ih = q / D.W, iw = q - ih * D.W;
        int th = ih + D.Ph - ki * D.Dh, tw = iw + D.Pw - kj * D.Dw;
        if (th < 0 || tw < 0) return 0f;
        int oh = th / D.Sh, ow = tw / D.Sw;
        if (oh * D.Sh != th || ow * D.Sw != tw || oh >= D.Ho || ow >= D.Wo) return 0f;
        return dy[((n * D.Cout + g * D.Mg + co) * D.Ho + oh) * D.Wo + ow];
    }

    public readonly void Store(ArrayView<float> dx, ArrayView<float> bias, int g, int row, int col, float value)
    {
        int hw = D.H * D.W;
        int n = col / hw, q = col - n * hw;
        dx[(n * D.C + g * D.Cg + row) * hw + q] = value;
    }
}

/// <summary>Weight gradient: dW_g (Mg × K) = dy_g (Mg × N·P) · im2col_gᵀ (N·P × K), the batch folded into the reduction.</summary>
internal struct ConvWeightGradGemm : IImplicitGemm
{
    public ConvDims D;

    public readonly int Rows => D.Mg;
    public readonly int Cols => D.K;
    public readonly int Depth => D.N * D.P;

    public readonly float A(ArrayView<float> dy, int g, int row, int r)
    {
        int n = r / D.P, pos = r - n * D.P;
        return dy[(n * D.Cout + g * D.Mg + row) * D.P + pos];
    }

    public readonly float B(ArrayView<float> x, int g, int r, int col) => D.Im2Col(x, g, col, r);

    public readonly void Store(ArrayView<float> dw, ArrayView<float> bias, int g, int row, int col, float value) =>
        dw[(g * D.Mg + row) * D.K + col] = value;
}

/// <summary>
/// Convolution kernels: one shared-memory tiled GEMM (T×T threads, T×T tiles of A and B staged per step of the
/// reduction) specialised by the three index maps above, and a per-channel group sum for dbias.
/// Next speedups, in order: register tiling (each thread computing a 4×4 or 8×8 block of C, 64-wide tiles), split-K
/// for the weight gradient (its reduction N·Ho·Wo is long while Mg×K is small), cuBLAS on an explicit im2col buffer
/// for large 1×1 / 3×3 layers, and a direct 1×1 stride-1 path.
/// </summary>
internal static class Conv2dGpuKernels
{
    /// <summary>The largest tile side (the shared tiles are MaxTile² floats); the launch picks T ≤ this.</summary>
    public const int MaxTile = 16;

    /// <summary>Grid (⌈cols/T⌉, ⌈rows/T⌉, groups), group (T, T).</summary>
    public static void Gemm<TGemm>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, TGemm p)
        where TGemm : struct, IImplicitGemm
    {
        var tileA = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        var tileB = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        int t = Group.DimX, tx = Group.IdxX, ty = Group.IdxY, g = Grid.IdxZ;
        int row = Grid.IdxY * t + ty, col = Grid.IdxX * t + tx;
        int rows = p.Rows, cols = p.Cols, depth = p.Depth;
        float acc = 0f;
        for (int r0 = 0; r0 < depth; r0 += t)
        {
            int ra = r0 + tx, rb = r0 + ty;
            tileA[ty * t + tx] = row < rows && ra < depth ? p.A(a, g, row, ra) : 0f;
            tileB[ty * t + tx] = rb < depth && col < cols ? p.B(b, g, rb, col) : 0f;
            Group.Barrier();
            for (int k = 0; k < t; k++) acc += tileA[ty * t + k] * tileB[k * t + tx];
            Group.Barrier();
        }
        if (row < rows && col < cols) p.Store(c, bias, g, row, col, acc);
    }

    /// <summary>
    /// The same product without shared memory or barriers: one thread per (col, row, group), a plain dot product over
    /// the reduction. On ILGPU's CPU accelerator every barrier is an OS-level rendezvous of the simulated threads
    /// (0.04–0.3 ms), which makes the tiled kernel minutes slow on training-sized layers there; the GPU keeps the tiles.
    /// </summary>
    public static void GemmDirect<TGemm>(Index3D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, TGemm p)
        where TGemm : struct, IImplicitGemm
    {
        int col = i.X, row = i.Y, g = i.Z, depth = p.Depth;
        float acc = 0f;
        for (int r = 0; r < depth; r++) acc += p.A(a, g, row, r) * p.B(b, g, r, col);
        p.Store(c, bias, g, row, col, acc);
    }

    /// <summary>Group per output channel: dbias[co] = Σ over n, oh, ow of dy.</summary>
    public static void BiasGrad(ArrayView<float> dy, ArrayView<float> dBias, ConvDims d)
    {
        var scratch = SharedMemory.Allocate<float>(GroupSums.MaxGroup);
        int co = Grid.IdxX, t = Group.IdxX, p = d.P;
        int m = d.N * p;
        float s = 0;
        for (int i = t; i < m; i += Group.DimX)
        {
            int n = i / p;
            s += dy[(n * d.Cout + co) * p + (i - n * p)];
        }
        s = GroupSums.Sum(scratch, s);
        if (t == 0) dBias[co] = s;
    }
}
