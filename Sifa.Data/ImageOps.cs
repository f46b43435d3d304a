namespace Sifa.Data;

/// <summary>
/// Image operations on frames: bilinear resize (float planar or byte interleaved), crops, horizontal
/// flip, conversion to planar float and ImageNet normalisation. Bilinear resizing uses half-pixel
/// centres (like OpenCV <c>INTER_LINEAR</c> and PyTorch <c>align_corners=False</c>), without antialiasing.
/// </summary>
public static class ImageOps
{
    /// <summary>ImageNet channel means on [0, 1] RGB.</summary>
    public static IReadOnlyList<float> ImageNetMean { get; } = new[] { 0.485f, 0.456f, 0.406f };

    /// <summary>ImageNet channel standard deviations on [0, 1] RGB.</summary>
    public static IReadOnlyList<float> ImageNetStd { get; } = new[] { 0.229f, 0.224f, 0.225f };

    /// <summary>
    /// The size that scales the short side of a <paramref name="height"/> x <paramref name="width"/> image to
    /// <paramref name="shortSide"/>, keeping the aspect ratio (long side rounded half up, as mmcv does).
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="shortSide">Target short side.</param>
    /// <returns>The new height and width.</returns>
    public static (int Height, int Width) ShortSideSize(int height, int width, int shortSide)
    {
        if (height <= 0 || width <= 0 || shortSide <= 0) throw new ArgumentOutOfRangeException(nameof(shortSide), "sizes must be positive");
        return height <= width
            ? (shortSide, Math.Max(1, (int)(width * (double)shortSide / height + 0.5)))
            : (Math.Max(1, (int)(height * (double)shortSide / width + 0.5)), shortSide);
    }

    /// <summary>Bilinear resize of planar float images (<paramref name="planes"/> planes of H x W, e.g. (C, H, W) or (T, C, H, W)).</summary>
    /// <param name="src">The source planes.</param>
    /// <param name="planes">Number of planes.</param>
    /// <param name="height">Source height.</param>
    /// <param name="width">Source width.</param>
    /// <param name="outHeight">Target height.</param>
    /// <param name="outWidth">Target width.</param>
    /// <returns>The resized planes.</returns>
    public static float[] ResizeBilinear(ReadOnlySpan<float> src, int planes, int height, int width, int outHeight, int outWidth)
    {
        CheckSize(src.Length, planes, height, width);
        var dst = new float[planes * outHeight * outWidth];
        var (y0, y1, wy) = Taps(height, outHeight);
        var (x0, x1, wx) = Taps(width, outWidth);
        for (int p = 0; p < planes; p++)
        {
            var s = src.Slice(p * height * width, height * width);
            int o = p * outHeight * outWidth;
            for (int y = 0; y < outHeight; y++)
            {
                int r0 = y0[y] * width, r1 = y1[y] * width;
                float fy = wy[y];
                for (int x = 0; x < outWidth; x++)
                {
                    float fx = wx[x];
                    float top = s[r0 + x0[x]] + (s[r0 + x1[x]] - s[r0 + x0[x]]) * fx;
                    float bot = s[r1 + x0[x]] + (s[r1 + x1[x]] - s[r1 + x0[x]]) * fx;
                    dst[o++] = top + (bot - top) * fy;
                }
            }
        }
        return dst;
    }

    /// <summary>Bilinear resize of an interleaved byte image (H, W, C), rounding to the nearest byte.</summary>
    /// <param name="src">The source pixels.</param>
    /// <param name="height">Source height.</param>
    /// <param name="width">Source width.</param>
    /// <param name="channels">Interleaved channels (3 for RGB24).</param>
    /// <param name="outHeight">Target height.</param>
    /// <param name="outWidth">Target width.</param>
    /// <returns>The resized pixels (outHeight, outWidth, channels).</returns>
    public static byte[] ResizeBilinear(ReadOnlySpan<byte> src, int height, int width, int channels, int outHeight, int outWidth)
    {
        CheckSize(src.Length, channels, height, width);
        var dst = new byte[outHeight * outWidth * channels];
        var (y0, y1, wy) = Taps(height, outHeight);
        var (x0, x1, wx) = Taps(width, outWidth);
        int o = 0;
        for (int y = 0; y < outHeight; y++)
        {
            int r0 = y0[y] * width * channels, r1 = y1[y] * width * channels;
            float fy = wy[y];
            for (int x = 0; x < outWidth; x++)
            {
                int a = x0[x] * channels, b = x1[x] * channels;
                float fx = wx[x];
                for (int c = 0; c < channels; c++)
                {
                    float top = src[r0 + a + c] + (src[r0 + b + c] - src[r0 + a + c]) * fx;
                    float bot = src[r1 + a + c] + (src[r1 + b + c] - src[r1 + a + c]) * fx;
                    float v = top + (bot - top) * fy;
                    dst[o++] = (byte)Math.Clamp((int)(v + 0.5f), 0, 255);
                }
            }
        }
        return dst;
    }

    /// <summary>Crops a window out of planar float images.</summary>
    /// <param name="src">The source planes.</param>
    /// <param name="planes">Number of planes.</param>
    /// <param name="height">Source height.</param>
    /// <param name="width">Source width.</param>
    /// <param name="y">Top row of the window.</param>
    /// <param name="x">Left column of the window.</param>
    /// <param name="cropHeight">Window height.</param>
    /// <param name="cropWidth">Window width.</param>
    /// <returns>The cropped planes.</returns>
    public static float[] Crop(ReadOnlySpan<float> src, int planes, int height, int width, int y, int x, int cropHeight, int cropWidth)
    {
        CheckSize(src.Length, planes, height, width);
        if (y < 0 || x < 0 || cropHeight <= 0 || cropWidth <= 0 || y + cropHeight > height || x + cropWidth > width)
            throw new ArgumentOutOfRangeException(nameof(y), $"crop {cropWidth}x{cropHeight} at ({x}, {y}) does not fit a {width}x{height} image");
        var dst = new float[planes * cropHeight * cropWidth];
        for (int p = 0; p < planes; p++)
            for (int r = 0; r < cropHeight; r++)
                src.Slice(p * height * width + (y + r) * width + x, cropWidth).CopyTo(dst.AsSpan((p * cropHeight + r) * cropWidth, cropWidth));
        return dst;
    }

    /// <summary>Mirrors planar images left to right, in place.</summary>
    /// <param name="data">The planes.</param>
    /// <param name="planes">Number of planes.</param>
    /// <param name="height">Height.</param>
    /// <param name="width">Width.</param>
    public static void FlipHorizontal(Span<float> data, int planes, int height, int width)
    {
        CheckSize(data.Length, planes, height, width);
        for (int r = 0; r < planes * height; r++) data.Slice(r * width, width).Reverse();
    }

    /// <summary>Converts interleaved RGB24 frames (T, H, W, 3) to planar floats (T, 3, H, W) on [0, 1].</summary>
    /// <param name="rgb">The bytes.</param>
    /// <param name="frames">Number of frames.</param>
    /// <param name="height">Height.</param>
    /// <param name="width">Width.</param>
    /// <returns>The planar values.</returns>
    public static float[] ToPlanar(ReadOnlySpan<byte> rgb, int frames, int height, int width)
    {
        int hw = height * width;
        if (rgb.Length < frames * hw * 3) throw new ArgumentException("too few bytes for the frames");
        var dst = new float[frames * 3 * hw];
        const float inv = 1f / 255f;
        for (int t = 0; t < frames; t++)
        {
            var f = rgb.Slice(t * hw * 3, hw * 3);
            int o = t * 3 * hw;
            for (int i = 0; i < hw; i++)
            {
                dst[o + i] = f[3 * i] * inv;
                dst[o + hw + i] = f[3 * i + 1] * inv;
                dst[o + 2 * hw + i] = f[3 * i + 2] * inv;
            }
        }
        return dst;
    }

    /// <summary>Normalises planar RGB frames (T, 3, H, W) on [0, 1] in place: (v - mean[c]) / std[c].</summary>
    /// <param name="data">The frames.</param>
    /// <param name="frames">Number of frames.</param>
    /// <param name="height">Height.</param>
    /// <param name="width">Width.</param>
    /// <param name="mean">Per-channel means (ImageNet when null).</param>
    /// <param name="std">Per-channel standard deviations (ImageNet when null).</param>
    public static void Normalize(Span<float> data, int frames, int height, int width, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
    {
        mean ??= ImageNetMean;
        std ??= ImageNetStd;
        int hw = height * width;
        CheckSize(data.Length, frames * 3, height, width);
        for (int t = 0; t < frames; t++)
            for (int c = 0; c < 3; c++)
            {
                float m = mean[c], inv = 1f / std[c];
                var plane = data.Slice((t * 3 + c) * hw, hw);
                for (int i = 0; i < plane.Length; i++) plane[i] = (plane[i] - m) * inv;
            }
    }

    /// <summary>Top-left corner of a centred <paramref name="size"/> x <paramref name="size"/> crop.</summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="size">Crop size.</param>
    /// <returns>(y, x) of the crop.</returns>
    public static (int Y, int X) CenterCropOffset(int height, int width, int size) =>
        ((height - size) / 2, (width - size) / 2);

    /// <summary>
    /// Top-left corners of three <paramref name="size"/>-square crops along the long side: left, centre,
    /// right for landscape images (vertically centred), top, centre, bottom for portrait ones.
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="size">Crop size.</param>
    /// <returns>Three (y, x) corners.</returns>
    public static (int Y, int X)[] ThreeCropOffsets(int height, int width, int size)
    {
        var (cy, cx) = CenterCropOffset(height, width, size);
        return width >= height
            ? new[] { (cy, 0), (cy, cx), (cy, width - size) }
            : new[] { (0, cx), (cy, cx), (height - size, cx) };
    }

    /// <summary>
    /// Source taps and weights that resample the window [<paramref name="start"/>, <paramref name="start"/> +
    /// <paramref name="length"/>) of a virtual <paramref name="virtualSize"/>-pixel resize of an <paramref name="inSize"/>-pixel
    /// line to <paramref name="count"/> pixels (crop then resize, in one half-pixel bilinear pass, no antialiasing).
    /// </summary>
    internal static (int[] I0, int[] I1, float[] W) WindowTaps(int inSize, int virtualSize, int start, int length, int count)
    {
        if (inSize <= 0 || virtualSize <= 0 || length <= 0 || count <= 0) throw new ArgumentOutOfRangeException(nameof(count), "sizes must be positive");
        var i0 = new int[count];
        var i1 = new int[count];
        var w = new float[count];
        double toIn = (double)inSize / virtualSize, step = (double)length / count;
        for (int o = 0; o < count; o++)
        {
            double s = (start + (o + 0.5) * step) * toIn - 0.5;
            if (s < 0) s = 0;
            int a = (int)s;
            if (a >= inSize - 1) { a = inSize - 1; s = a; }
            i0[o] = a;
            i1[o] = Math.Min(a + 1, inSize - 1);
            w[o] = (float)(s - a);
        }
        return (i0, i1, w);
    }

    /// <summary>Source taps and weights of a 1-D half-pixel bilinear resize.</summary>
    internal static (int[] I0, int[] I1, float[] W) Taps(int inSize, int outSize)
    {
        if (inSize <= 0 || outSize <= 0) throw new ArgumentOutOfRangeException(nameof(outSize), "sizes must be positive");
        return WindowTaps(inSize, outSize, 0, outSize, outSize); // the whole output as the window: the same doubles
    }

    private static void CheckSize(int length, int planes, int height, int width)
    {
        if (planes <= 0 || height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), "sizes must be positive");
        if ((long)planes * height * width > length)
            throw new ArgumentException($"buffer of {length} values is smaller than {planes} x {height} x {width}");
    }
}
