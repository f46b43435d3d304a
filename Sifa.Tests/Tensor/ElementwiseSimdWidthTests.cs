using System.Runtime.Intrinsics;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tests.TensorTests;

/// <summary>
/// The explicit-vector element-wise ops (ReLU backward, GELU forward and backward) on both widths this machine runs:
/// 16-lane AVX-512 and 8-lane AVX2, each against the scalar maths and against each other.
/// </summary>
/// <remarks>Switches a process-wide hook, so it runs alone.</remarks>
[Collection(GlobalStateCollection.Name)]
public sealed class ElementwiseSimdWidthTests
{
    [Fact]
    public void AvxWidthsAgreeWithScalarAndEachOther()
    {
        var rng = new Random(3);
        const int n = 16 * 4 + 8 + 5;   // full 512-bit steps, one 256-bit step and a scalar tail
        float[] a = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
        float[] b = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        a[3] = float.NaN; a[20] = 0f; a[40] = -0f;
        bool before = GeluSimd.Use512;
        var results = new List<float[]>();
        try
        {
            foreach (bool wide in Vector512.IsHardwareAccelerated ? new[] { true, false } : new[] { false })
            {
                GeluSimd.Use512 = wide;
                var relu = new float[n]; new ReluBackwardOp().ApplySpan(a, b, relu);
                var gelu = new float[n]; new GeluOp().ApplySpan(a, gelu);
                var geluB = new float[n]; new GeluBackwardOp().ApplySpan(a, b, geluB);
                for (int i = 0; i < n; i++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(new ReluBackwardOp().Apply(a[i], b[i])), BitConverter.SingleToInt32Bits(relu[i]));
                    Close(new GeluOp().Apply(a[i]), gelu[i], $"gelu({a[i]}) wide={wide}");
                    Close(new GeluBackwardOp().Apply(a[i], b[i]), geluB[i], $"gelu'({a[i]}) wide={wide}");
                }
                results.Add([.. relu, .. gelu, .. geluB]);
            }
        }
        finally
        {
            GeluSimd.Use512 = before;
        }
        // Same formula in the same order on both widths: the results agree lane by lane.
        if (results.Count == 2)
            for (int i = 0; i < results[0].Length; i++) Close(results[1][i], results[0][i], $"512 vs 256 at {i}");
    }

    private static void Close(float want, float got, string what)
    {
        if (float.IsNaN(want)) { Assert.True(float.IsNaN(got), what); return; }
        Assert.True(MathF.Abs(want - got) <= 1e-5f * MathF.Max(1, MathF.Abs(want)), $"{what}: {got} vs {want}");
    }
}
