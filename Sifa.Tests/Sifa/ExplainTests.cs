using Sifa.Autograd;
using Sifa.Data;
using Sifa.Tests.Data;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Training.Explain;

namespace Sifa.Tests.SifaOp;

/// <summary>
/// `sifa explain` reads what the SIFA op really did: on a clip whose object moves a known number of pixels between
/// frames, with a hand-set offset conv, the captured sampling positions and weights put the attention peak exactly on
/// the displaced object.
/// </summary>
public class ExplainTests
{
    private const int C = 4, H = 12, W = 12, Y0 = 5, X0 = 3, Shift = 3;

    // Frame 0: the object (channels 1..3 = 3) at (Y0, X0); frame 1: at (Y0, X0 + Shift). Channel 0 is 1 everywhere, so
    // the motion saliency map's channel 0 is sigmoid(0)·1 = 0.5 everywhere and drives the offsets.
    private static Variable MovingObject()
    {
        var x = new float[2 * C * H * W];
        for (int f = 0; f < 2; f++)
        {
            for (int i = 0; i < H * W; i++) x[(f * C) * H * W + i] = 1f;
            int px = X0 + f * Shift;
            for (int c = 1; c < C; c++) x[((f * C) + c) * H * W + Y0 * W + px] = 3f;
        }
        return new Variable(Tensor.FromArray(x, 2, C, H, W));
    }

    // An offset conv whose centre tap reads channel 0 only: every neighbour's column offset is 0.5 · 2·colShift.
    private static SifaBlock Block(float colShift)
    {
        var b = new SifaBlock(C, new SifaOptions(K: 3));
        var wgt = b.StateDict()["offset_conv.weight"].Tensor; // (2k², C, 3, 3)
        var a = new float[wgt.Numel];
        for (int j = 0; j < 9; j++) a[((2 * j + 1) * C + 0) * 9 + 4] = 2 * colShift;
        b.LoadStateDict(new Dictionary<string, Tensor> { ["offset_conv.weight"] = Tensor.FromArray(a, wgt.Shape) });
        return b;
    }

    [Theory]
    [InlineData(2f, 5)] // the grid is shifted by 2: the right-hand neighbour (grid +1) lands on the object (+3)
    [InlineData(3f, 4)] // shifted by 3: the centre neighbour lands on it
    public void TheAttentionPeaksAtTheDisplacedObject(float offset, int expectedNeighbour)
    {
        var block = Block(offset);
        var capture = new SifaCapture();
        block.Capture = capture;
        using (GradMode.NoGrad()) block.Forward(MovingObject(), frames: 2);
        Assert.Equal(offset, capture.Offsets!.ToArray()[(1 * H * W) + Y0 * W + X0], 5); // neighbour 0's column offset, frame 0
        var (pos, w) = SifaExplainer.Sampling(capture, row: 0, Y0, X0);
        int peak = Enumerable.Range(0, 9).MaxBy(j => w[j]);
        Assert.Equal(expectedNeighbour, peak);
        Assert.Equal(Y0, pos[2 * peak], 5);
        Assert.Equal(X0 + Shift, pos[2 * peak + 1], 5);
        // ⟨q, K⟩ / C: the object (1 + 3·9) / 4 = 7 at the peak, the background 1/4 elsewhere.
        Assert.Equal(7f, w[peak], 4);
        Assert.All(Enumerable.Range(0, 9).Where(j => j != peak), j => Assert.Equal(0.25f, w[j], 4));
    }

    [Fact]
    public void TheCapturedWeightsAreTheOpsOwn()
    {
        var block = Block(2f);
        var capture = new SifaCapture();
        block.Capture = capture;
        var x = MovingObject();
        Tensor y;
        using (GradMode.NoGrad()) y = block.Forward(x, frames: 2).Data;
        // Y = x + Σ_j W_j K_j: rebuilding the aggregation from the captured weights at the query gives the op's output.
        var (pos, w) = SifaExplainer.Sampling(capture, 0, Y0, X0);
        var xa = x.Data.ToArray();
        for (int c = 0; c < C; c++)
        {
            float agg = 0;
            for (int j = 0; j < 9; j++)
            {
                int py = (int)pos[2 * j], px = (int)pos[2 * j + 1]; // integer positions here: no interpolation
                float key = py is >= 0 and < H && px is >= 0 and < W ? xa[((1 * C) + c) * H * W + py * W + px] : 0f;
                agg += w[j] * key;
            }
            Assert.Equal(xa[(c * H * W) + Y0 * W + X0] + agg, y.ToArray()[(c * H * W) + Y0 * W + X0], 3);
        }
    }

    [Fact]
    public void PngsAreValidPictures()
    {
        var r = new Raster(5, 3, (10, 20, 30));
        r.Disc(2, 1, 1, (255, 0, 0));
        var png = r.ToPng();
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        var dir = Path.Combine(Path.GetTempPath(), "sifa-png-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var p = Path.Combine(dir, "a.png");
            r.SavePng(p);
            if (!FfmpegTools.IsAvailable) return;
            // ffmpeg decodes it back to the same pixels.
            var raw = Path.Combine(dir, "a.rgb");
            MediaFixture.Ffmpeg("-i", p, "-f", "rawvideo", "-pix_fmt", "rgb24", raw);
            var bytes = File.ReadAllBytes(raw);
            Assert.Equal(5 * 3 * 3, bytes.Length);
            Assert.Equal(new byte[] { 10, 20, 30 }, bytes[..3]);
            int at = (1 * 5 + 2) * 3;
            Assert.Equal(new byte[] { 255, 0, 0 }, bytes[at..(at + 3)]);
        }
        finally { Directory.Delete(dir, true); }
    }
}
