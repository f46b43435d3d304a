using System.Buffers.Binary;
using System.IO.Compression;

namespace Sifa.Training.Explain;

/// <summary>
/// A small RGB picture with the few drawing operations the explanation pictures need (nearest/bilinear scaling,
/// blending a heat map, dots, rings, lines, rectangles) and a PNG writer (zlib from the base library, no native
/// dependency).
/// </summary>
public sealed class Raster
{
    private readonly byte[] _rgb;

    /// <summary>Creates a picture filled with one colour.</summary>
    public Raster(int width, int height, (byte R, byte G, byte B) fill = default)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"picture size {width}x{height} must be positive");
        Width = width; Height = height;
        _rgb = new byte[checked(width * height * 3)];
        if (fill != default) Fill(0, 0, width, height, fill);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>A picture of a planar (3, H, W) frame on [0, 1] RGB, each pixel scaled up <paramref name="scale"/> times (nearest).</summary>
    public static Raster FromPlanar(ReadOnlySpan<float> chw, int height, int width, int scale = 1)
    {
        var r = new Raster(width * scale, height * scale);
        int plane = height * width;
        for (int y = 0; y < r.Height; y++)
            for (int x = 0; x < r.Width; x++)
            {
                int i = y / scale * width + x / scale;
                r.Set(x, y, (B(chw[i]), B(chw[plane + i]), B(chw[2 * plane + i])));
            }
        return r;
    }

    private static byte B(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);

    /// <summary>Sets one pixel (ignored outside the picture).</summary>
    public void Set(int x, int y, (byte R, byte G, byte B) c, float alpha = 1f)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        if (alpha >= 1f) { _rgb[i] = c.R; _rgb[i + 1] = c.G; _rgb[i + 2] = c.B; return; }
        _rgb[i] = (byte)(_rgb[i] + (c.R - _rgb[i]) * alpha);
        _rgb[i + 1] = (byte)(_rgb[i + 1] + (c.G - _rgb[i + 1]) * alpha);
        _rgb[i + 2] = (byte)(_rgb[i + 2] + (c.B - _rgb[i + 2]) * alpha);
    }

    /// <summary>The colour of one pixel.</summary>
    public (byte R, byte G, byte B) Get(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return (_rgb[i], _rgb[i + 1], _rgb[i + 2]);
    }

    /// <summary>Fills a rectangle.</summary>
    public void Fill(int x0, int y0, int w, int h, (byte R, byte G, byte B) c, float alpha = 1f)
    {
        for (int y = y0; y < y0 + h; y++)
            for (int x = x0; x < x0 + w; x++) Set(x, y, c, alpha);
    }

    /// <summary>Draws a rectangle's outline.</summary>
    public void Outline(int x0, int y0, int w, int h, (byte R, byte G, byte B) c, int thickness = 2)
    {
        Fill(x0, y0, w, thickness, c); Fill(x0, y0 + h - thickness, w, thickness, c);
        Fill(x0, y0, thickness, h, c); Fill(x0 + w - thickness, y0, thickness, h, c);
    }

    /// <summary>A filled disc centred at (cx, cy), with an outline ring of <paramref name="ring"/> when given.</summary>
    public void Disc(double cx, double cy, double radius, (byte R, byte G, byte B) c, (byte R, byte G, byte B)? ring = null)
    {
        double outer = radius + (ring != null ? 1.5 : 0);
        for (int y = (int)Math.Floor(cy - outer); y <= (int)Math.Ceiling(cy + outer); y++)
            for (int x = (int)Math.Floor(cx - outer); x <= (int)Math.Ceiling(cx + outer); x++)
            {
                double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                if (d <= radius) Set(x, y, c);
                else if (ring is { } rc && d <= outer) Set(x, y, rc);
            }
    }

    /// <summary>A ring (circle outline) of the given thickness.</summary>
    public void Ring(double cx, double cy, double radius, (byte R, byte G, byte B) c, double thickness = 2)
    {
        for (int y = (int)Math.Floor(cy - radius - thickness); y <= (int)Math.Ceiling(cy + radius + thickness); y++)
            for (int x = (int)Math.Floor(cx - radius - thickness); x <= (int)Math.Ceiling(cx + radius + thickness); x++)
            {
                double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                if (Math.Abs(d - radius) <= thickness / 2) Set(x, y, c);
            }
    }

    /// <summary>A straight line, blended with <paramref name="alpha"/>.</summary>
    public void Line(double x0, double y0, double x1, double y1, (byte R, byte G, byte B) c, float alpha = 1f)
    {
        int n = (int)Math.Ceiling(Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0))) + 1;
        for (int i = 0; i <= n; i++)
        {
            double t = (double)i / n;
            Set((int)Math.Round(x0 + (x1 - x0) * t), (int)Math.Round(y0 + (y1 - y0) * t), c, alpha);
        }
    }

    /// <summary>
    /// Blends a heat map over the picture: <paramref name="map"/> (h, w), normalised to its own [min, max], upsampled
    /// bilinearly (pixel centres aligned) to the picture and coloured with <see cref="Heat"/>. A constant map changes nothing.
    /// </summary>
    public void BlendHeat(ReadOnlySpan<float> map, int h, int w, float alpha = 0.55f)
    {
        float lo = float.MaxValue, hi = float.MinValue;
        foreach (var v in map) { if (float.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); } }
        if (!(hi > lo)) return; // a constant map (e.g. an all-zero Grad-CAM) has nothing to show
        float span = hi - lo;
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                float v = Bilinear(map, h, w, (y + 0.5f) * h / Height - 0.5f, (x + 0.5f) * w / Width - 0.5f);
                Set(x, y, Heat((v - lo) / span), alpha);
            }
    }

    /// <summary>Bilinear sample of a (h, w) map at a fractional position, clamped at the borders.</summary>
    public static float Bilinear(ReadOnlySpan<float> map, int h, int w, float fy, float fx)
    {
        fy = Math.Clamp(fy, 0, h - 1); fx = Math.Clamp(fx, 0, w - 1);
        int y0 = (int)fy, x0 = (int)fx, y1 = Math.Min(y0 + 1, h - 1), x1 = Math.Min(x0 + 1, w - 1);
        float ay = fy - y0, ax = fx - x0;
        float top = map[y0 * w + x0] * (1 - ax) + map[y0 * w + x1] * ax;
        float bot = map[y1 * w + x0] * (1 - ax) + map[y1 * w + x1] * ax;
        return top * (1 - ay) + bot * ay;
    }

    /// <summary>A perceptually ordered heat colour for v in [0, 1]: dark blue, cyan, yellow, red (a "turbo"-like ramp).</summary>
    public static (byte R, byte G, byte B) Heat(float v)
    {
        v = float.IsFinite(v) ? Math.Clamp(v, 0f, 1f) : 0f;
        float[] st = [0.19f, 0.07f, 0.23f, 0.16f, 0.47f, 0.92f, 0.15f, 0.86f, 0.70f, 0.64f, 0.96f, 0.22f, 0.98f, 0.50f, 0.09f, 0.72f, 0.05f, 0.02f];
        float p = v * 5f;
        int i = Math.Min((int)p, 4);
        float f = p - i;
        byte C(int ch) => (byte)Math.Clamp((int)((st[i * 3 + ch] + (st[(i + 1) * 3 + ch] - st[i * 3 + ch]) * f) * 255f), 0, 255);
        return (C(0), C(1), C(2));
    }

    /// <summary>Copies another picture in at (x0, y0).</summary>
    public void Paste(Raster src, int x0, int y0)
    {
        for (int y = 0; y < src.Height; y++)
            for (int x = 0; x < src.Width; x++) Set(x0 + x, y0 + y, src.Get(x, y));
    }

    /// <summary>The picture as PNG bytes (8-bit RGB, no interlace).</summary>
    public byte[] ToPng()
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), Height);
        ihdr[8] = 8; ihdr[9] = 2; // 8 bits per channel, truecolour
        Chunk(ms, "IHDR", ihdr);
        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
                for (int y = 0; y < Height; y++)
                {
                    z.WriteByte(0); // filter: none
                    z.Write(_rgb, y * Width * 3, Width * 3);
                }
            Chunk(ms, "IDAT", raw.ToArray());
        }
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    /// <summary>Writes the picture as a PNG file.</summary>
    public void SavePng(string path) => File.WriteAllBytes(path, ToPng());

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var td = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++) td[i] = (byte)type[i];
        data.CopyTo(td, 4);
        s.Write(td);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(td));
        s.Write(len);
    }

    private static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFFu;
    }
}
