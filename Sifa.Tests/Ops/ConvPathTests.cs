using Sifa.Tensors.Cpu;

namespace Sifa.Tests.OpTests;

/// <summary>
/// The CPU convolution's paths, each forced on through a process-wide switch (the unfolding in column chunks, the
/// implicit GEMM on AVX-512 and AVX2, several small images per product) and checked against the naive reference;
/// the switches change every convolution in the process, so this class runs alone.
/// </summary>
[Collection(GlobalStateCollection.Name)]
public class ConvPathTests
{
    private static readonly ConvTests Conv = new();

    // One image per thread unfolds its output columns a chunk at a time (forward, dW and dx); every case has work
    // enough for the batch-parallel path. A tiny chunk budget makes chunks of one or two register tiles that cut output
    // rows anywhere, so every edge of the chunked unfolding runs.
    [Theory]
    [InlineData(4, 16, 13, 11, 16, 3, 3, 1, 1, 1, 1, 40)]
    [InlineData(4, 16, 25, 23, 16, 3, 3, 2, 1, 1, 1, 40)]
    [InlineData(2, 16, 24, 22, 16, 3, 3, 1, 2, 2, 2, 70)]
    [InlineData(2, 3, 45, 37, 16, 7, 7, 2, 3, 1, 1, 33)]
    [InlineData(4, 16, 12, 40, 16, 2, 3, 1, 1, 1, 1, 100)]
    public void ChunkedColumnsMatchNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups, int chunkColumns)
    {
        // The unfolding path, batch-parallel (an image per core): the chunked columns.
        OnPath(implicitGemm: false, threads: 2, chunkFloats: cin / groups * kh * kw * chunkColumns,
            () => Conv.ForwardAndBackwardMatchNaive(n, cin, h, w, cout, kh, kw, s, p, d, groups, true));
    }

    // Small images unfold several to a product (columns of up to MinProductColumns); the group's last product may
    // hold fewer images. Every case has work enough for the batch-parallel path.
    [Theory]
    [InlineData(8, 16, 9, 11, 20, 3, 3, 1, 1, 1, 1)]
    [InlineData(6, 16, 15, 15, 48, 3, 3, 2, 1, 1, 2)]
    [InlineData(10, 16, 9, 10, 40, 2, 2, 1, 0, 1, 1)]
    [InlineData(8, 32, 16, 16, 96, 1, 1, 2, 0, 1, 1)]
    [InlineData(8, 32, 7, 7, 64, 1, 1, 1, 0, 1, 1)]      // a 1×1 convolution (grouped below 10 × 10 outputs)
    public void GroupedImagesMatchNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups)
    {
        OnPath(implicitGemm: false, threads: 2, chunkFloats: null,
            () => Conv.ForwardAndBackwardMatchNaive(n, cin, h, w, cout, kh, kw, s, p, d, groups, true));
    }

    // Convolutions read the zero-padded image directly (ImplicitGemm, on AVX-512 and AVX2 machines; elsewhere they
    // unfold): forward, dW and, at stride 1, the input gradient (the same kernel on the padded dY). Forced on for
    // every shape here, including narrow images where the default would unfold; one image (tiles split over the
    // cores) and batches (an image per core).
    public static IEnumerable<object[]> ImplicitCases() => new[]
    {
        new object[] { 1, 16, 20, 20, 16, 3, 3, 1, 1, 1, 1 },
        new object[] { 4, 16, 13, 11, 16, 3, 3, 1, 1, 1, 1 },
        new object[] { 4, 8, 9, 37, 13, 3, 3, 1, 0, 1, 1 },
        new object[] { 2, 16, 24, 22, 16, 3, 3, 1, 2, 2, 2 },
        new object[] { 2, 6, 17, 19, 7, 5, 5, 1, 2, 1, 1 },
        new object[] { 4, 16, 12, 40, 16, 2, 3, 1, 1, 1, 1 },
        new object[] { 3, 5, 6, 33, 40, 1, 3, 1, 1, 1, 1 },
        new object[] { 1, 7, 60, 58, 9, 3, 3, 1, 1, 1, 1 },
        new object[] { 2, 8, 14, 30, 48, 3, 3, 1, 1, 1, 1 },     // output channels past one 32-wide tile
        new object[] { 1, 12, 10, 62, 70, 3, 3, 1, 1, 1, 1 },
        new object[] { 2, 8, 17, 19, 12, 3, 3, 2, 1, 1, 1 },     // strided: the padded image as sh·sw phase grids
        new object[] { 1, 3, 45, 37, 16, 7, 7, 2, 3, 1, 1 },     // the stem
        new object[] { 2, 6, 20, 23, 40, 3, 3, 3, 1, 1, 1 },
        new object[] { 4, 8, 19, 18, 6, 3, 3, 2, 2, 2, 2 },
        new object[] { 2, 6, 9, 10, 6, 3, 3, 1, 1, 1, 6 },       // depthwise: one output row per group
        new object[] { 2, 4, 23, 21, 5, 3, 3, 2, 3, 3, 1 },      // dilation 3 at stride 2
    };

    [Theory]
    [MemberData(nameof(ImplicitCases))]
    public void ImplicitGemmMatchesNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups)
    {
        OnPath(implicitGemm: true, threads: null, chunkFloats: null,
            () => Conv.ForwardAndBackwardMatchNaive(n, cin, h, w, cout, kh, kw, s, p, d, groups, true));
    }

    // The same cases on the AVX2 kernels (6×16 tiles), which AVX2-only machines run by default.
    [Theory]
    [MemberData(nameof(ImplicitCases))]
    public void ImplicitGemmOnAvx2MatchesNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups)
    {
        OnAvx2(() =>
        {
            Assert.True(ImplicitGemm.Supported);
            ImplicitGemmMatchesNaive(n, cin, h, w, cout, kh, kw, s, p, d, groups);
        });
    }

    // Convolutions on channels-last copies (ChannelsLastGemm, on AVX-512 and AVX2 machines): forward, dW and, at stride 1, dx, forced on
    // for every shape here. On two threads, so the batches take the batch-parallel path, where small images go several
    // to a call (a part's images in groups, the last group smaller); one image, and a batch that does not split evenly,
    // take the path parallel inside the image.
    public static IEnumerable<object[]> ChannelsLastCases() => new[]
    {
        new object[] { 1, 16, 20, 20, 32, 3, 3, 1, 1, 1, 1 },
        new object[] { 1, 40, 9, 11, 70, 3, 3, 1, 1, 1, 1 },     // three output panels, the last one short
        new object[] { 4, 16, 13, 11, 40, 3, 3, 1, 1, 1, 1 },
        new object[] { 8, 16, 7, 7, 33, 3, 3, 1, 1, 1, 1 },      // four 7×7 images per call
        new object[] { 10, 16, 6, 7, 32, 3, 3, 1, 1, 1, 1 },     // five images per call
        new object[] { 6, 24, 9, 10, 40, 3, 3, 2, 1, 1, 1 },     // strided: dx unfolds, image by image
        new object[] { 8, 12, 8, 9, 20, 3, 3, 1, 2, 2, 1 },      // dilated, fewer outputs than one panel
        new object[] { 4, 16, 12, 40, 16, 2, 3, 1, 1, 1, 1 },    // an even kernel
        new object[] { 2, 16, 24, 22, 32, 3, 3, 1, 2, 2, 2 },    // groups
        new object[] { 2, 6, 9, 10, 6, 3, 3, 1, 1, 1, 6 },       // depthwise
        new object[] { 1, 3, 45, 37, 16, 7, 7, 2, 3, 1, 1 },     // the stem
        new object[] { 5, 17, 9, 9, 64, 3, 3, 1, 1, 1, 1 },      // five images do not split over two cores
        new object[] { 2, 8, 14, 30, 48, 3, 3, 1, 1, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(ChannelsLastCases))]
    public void ChannelsLastMatchesNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups)
    {
        Skip.IfNot(ChannelsLastGemm.Supported, "the channels-last kernels need AVX2 or AVX-512");
        OnPath(implicitGemm: null, threads: 2, chunkFloats: null,
            () => Conv.ForwardAndBackwardMatchNaive(n, cin, h, w, cout, kh, kw, s, p, d, groups, true), channelsLast: true);
    }

    // The same cases on the AVX2 kernels (6×16 tiles), which AVX2-only machines run by default.
    [Theory]
    [MemberData(nameof(ChannelsLastCases))]
    public void ChannelsLastOnAvx2MatchesNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int s, int p, int d, int groups)
    {
        OnAvx2(() =>
        {
            Assert.True(ChannelsLastGemm.Supported);
            Assert.Equal(16, ChannelsLastGemm.Width);
            ChannelsLastMatchesNaive(n, cin, h, w, cout, kh, kw, s, p, d, groups);
        });
    }

    // Runs body on the AVX2 SGEMM path (and so the AVX2 convolution kernels), skipped on machines without AVX2.
    private static void OnAvx2(Action body)
    {
        Skip.IfNot(CpuFeatures.Supports(CpuIsa.Avx2), "no AVX2 on this machine");
        var before = Sgemm.Isa;
        try
        {
            Sgemm.Isa = CpuIsa.Avx2;
            body();
        }
        finally
        {
            Sgemm.Isa = before;   // also restores the default blocks
        }
    }

    // Runs body with the convolution forced onto a path (and, when given, a thread count and chunk budget), then
    // restores the process-wide switches.
    private static void OnPath(bool? implicitGemm, int? threads, int? chunkFloats, Action body, bool? channelsLast = false)
    {
        var (implicitSaved, threadsSaved, chunkSaved) = (Conv2dKernels.ImplicitOverride, CpuParallel.Threads, Conv2dKernels.ChunkFloats);
        var channelsLastSaved = Conv2dKernels.ChannelsLastOverride;
        try
        {
            Conv2dKernels.ImplicitOverride = implicitGemm;
            Conv2dKernels.ChannelsLastOverride = channelsLast;
            if (threads is { } t) CpuParallel.Threads = t;
            if (chunkFloats is { } c) Conv2dKernels.ChunkFloats = c;
            body();
        }
        finally
        {
            (Conv2dKernels.ImplicitOverride, CpuParallel.Threads, Conv2dKernels.ChunkFloats) = (implicitSaved, threadsSaved, chunkSaved);
            Conv2dKernels.ChannelsLastOverride = channelsLastSaved;
        }
    }
}
