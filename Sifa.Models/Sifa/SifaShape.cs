using Sifa.Tensors;

namespace Sifa.Models;

/// <summary>
/// Sizes and options of one SIFA op call (SPEC section 3). Tensors are contiguous NCHW:
/// x and y (NT, C, H, W), offsets (NT, 2k², H, W), saved weights (NT, G, k², H, W).
/// </summary>
/// <param name="NT">Number of frames N·T (frame t of clip n is row n·T + t).</param>
/// <param name="T">Frames per clip.</param>
/// <param name="C">Channels.</param>
/// <param name="H">Height.</param>
/// <param name="W">Width.</param>
/// <param name="K">Odd local size k (the paper's 3).</param>
/// <param name="Dilation">Dilation d of the sampling grid.</param>
/// <param name="Groups">Correlation groups G (C must be divisible by G).</param>
/// <param name="LastFrameNone">True for <c>last_frame = none</c> (the last frame of each clip gets A = 0); false for <c>self</c>.</param>
/// <param name="Softmax">True for <c>normalize = softmax</c> over the k² neighbours; false for <c>none</c>.</param>
public readonly record struct SifaShape(int NT, int T, int C, int H, int W, int K, int Dilation, int Groups,
    bool LastFrameNone, bool Softmax)
{
    /// <summary>Number of neighbours P = k².</summary>
    public int P => K * K;

    /// <summary>Channels per correlation group, C / G.</summary>
    public int GroupChannels => C / Groups;

    /// <summary>Pixels per frame, H·W.</summary>
    public int HW => H * W;

    /// <summary>Number of elements of x, y, dx: NT·C·H·W.</summary>
    public long XLength => (long)NT * C * H * W;

    /// <summary>Number of elements of the offsets and their gradient: NT·2k²·H·W.</summary>
    public long OffsetsLength => (long)NT * 2 * K * K * H * W;

    /// <summary>Number of elements of the saved weights: NT·G·k²·H·W.</summary>
    public long WeightsLength => (long)NT * Groups * K * K * H * W;

    /// <summary>The frame that frame <paramref name="frame"/> attends to: next(t) = t+1, and the last frame of a clip attends to itself.</summary>
    /// <param name="frame">Row n·T + t.</param>
    /// <returns>Row n·T + next(t).</returns>
    public int Next(int frame) => frame % T < T - 1 ? frame + 1 : frame;

    /// <summary>Whether frame <paramref name="frame"/> gets an aggregation term (false only for the last frame with last_frame = none).</summary>
    /// <param name="frame">Row n·T + t.</param>
    /// <returns>True when A_t is computed.</returns>
    public bool Attends(int frame) => !(LastFrameNone && frame % T == T - 1);

    /// <summary>The shape of the saved weights: (NT, G, k², H, W).</summary>
    public int[] WeightsShape => [NT, Groups, P, H, W];

    /// <summary>The sizes of a SIFA call on x (N·T, C, H, W) and offsets (N·T, 2k², H, W), checked once here.</summary>
    /// <exception cref="ArgumentException">A shape or option is inconsistent; the message names both shapes.</exception>
    public static SifaShape Of(int[] x, int[] offsets, int frames, int k, int dilation, int groups, LastFrame lastFrame, SifaNormalize normalize)
    {
        if (x.Length != 4) throw new ArgumentException($"SIFA: x must be (N·T, C, H, W), got {Tensor.Fmt(x)}");
        int[] want = [x[0], 2 * k * k, x[2], x[3]];
        if (!offsets.AsSpan().SequenceEqual(want))
            throw new ArgumentException($"SIFA: offsets must be {Tensor.Fmt(want)} for x {Tensor.Fmt(x)} and k = {k}, got {Tensor.Fmt(offsets)}");
        var s = new SifaShape(x[0], frames, x[1], x[2], x[3], k, dilation, groups, lastFrame == LastFrame.None, normalize == SifaNormalize.Softmax);
        s.Validate();
        return s;
    }

    /// <summary>Throws <see cref="ArgumentException"/> when the sizes are inconsistent.</summary>
    public void Validate()
    {
        if (NT < 0 || C < 0 || H < 0 || W < 0) throw new ArgumentException($"negative size in {this}");
        if (T < 1 || NT % T != 0) throw new ArgumentException($"NT = {NT} must be a multiple of T = {T} ≥ 1");
        if (K < 1 || K % 2 == 0) throw new ArgumentException($"local size k must be odd and positive, got {K}");
        if (Dilation < 1) throw new ArgumentException($"dilation must be positive, got {Dilation}");
        if (Groups < 1 || C % Groups != 0) throw new ArgumentException($"channels C = {C} must be divisible by groups G = {Groups}");
    }
}


/// <summary>Sizes of one deformable gather: images (B, C, H, W), offsets (B, 2k², H, W), samples (B, C, k², H, W).</summary>
/// <param name="B">Images.</param>
/// <param name="C">Channels.</param>
/// <param name="H">Height.</param>
/// <param name="W">Width.</param>
/// <param name="K">Odd grid size k.</param>
/// <param name="Dilation">Grid dilation.</param>
public readonly record struct DeformGatherShape(int B, int C, int H, int W, int K, int Dilation)
{
    /// <summary>The shape of the samples.</summary>
    public int[] OutputShape => [B, C, K * K, H, W];

    /// <summary>The sizes of a gather of img by offsets, checked once here.</summary>
    /// <exception cref="ArgumentException">A shape or option is inconsistent.</exception>
    public static DeformGatherShape Of(int[] img, int[] offsets, int k, int dilation)
    {
        if (img.Length != 4) throw new ArgumentException($"deform_gather: images must be (B, C, H, W), got {Tensor.Fmt(img)}");
        if (k < 1 || k % 2 == 0) throw new ArgumentException($"deform_gather: k must be odd and positive, got {k}");
        if (dilation < 1) throw new ArgumentException($"deform_gather: dilation must be positive, got {dilation}");
        int[] want = [img[0], 2 * k * k, img[2], img[3]];
        if (!offsets.AsSpan().SequenceEqual(want))
            throw new ArgumentException($"deform_gather: offsets must be {Tensor.Fmt(want)} for images {Tensor.Fmt(img)} and k = {k}, got {Tensor.Fmt(offsets)}");
        return new DeformGatherShape(img[0], img[1], img[2], img[3], k, dilation);
    }
}
