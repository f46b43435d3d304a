using Sifa.Tensors;
using Sifa.Tensors.Gpu;

namespace Sifa.Tests.Gpu;

/// <summary>Shared helpers of the GPU tests: the ilgpu-cpu backend, random inputs, comparison with tolerances.</summary>
internal static class GpuTestUtil
{
    public static readonly Device D = Device.IlgpuCpu;

    public static GpuBackend Backend => (GpuBackend)Backends.For(D);

    public static float[] Random(int n, int seed, float lo = -1, float hi = 1)
    {
        var r = new System.Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (float)r.NextDouble() * (hi - lo);
        return a;
    }

    public static Tensor Rand(int seed, params int[] shape) => Tensor.FromArray(Random(Tensor.NumelOf(shape), seed), shape);

    public static Tensor RandIn(float lo, float hi, int seed, params int[] shape) =>
        Tensor.FromArray(Random(Tensor.NumelOf(shape), seed, lo, hi), shape);

    /// <summary>Same shape and every value within atol + rtol·|expected| (NaN matches NaN, ±∞ must be equal).</summary>
    public static void Close(Tensor expected, Tensor actual, float rtol = 1e-4f, float atol = 1e-5f, string what = "")
    {
        Assert.True(expected.Shape.AsSpan().SequenceEqual(actual.Shape),
            $"{what}: shape {Tensor.Fmt(actual.Shape)}, expected {Tensor.Fmt(expected.Shape)}");
        Assert.Equal(DeviceKind.Cpu, expected.Device.Kind);
        var e = expected.ToArray(); var a = actual.ToArray();
        for (int i = 0; i < e.Length; i++)
        {
            if (float.IsNaN(e[i]) && float.IsNaN(a[i])) continue;
            if (float.IsInfinity(e[i]) && e[i] == a[i]) continue;
            Assert.True(MathF.Abs(e[i] - a[i]) <= atol + rtol * MathF.Abs(e[i]), $"{what}: element {i} is {a[i]}, expected {e[i]}");
        }
    }
}
