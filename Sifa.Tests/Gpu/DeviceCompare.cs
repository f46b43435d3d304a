using Sifa.Tensors;

namespace Sifa.Tests.Gpu;

/// <summary>Helpers for tests that run one backend op on a device and compare it with the CPU backend.</summary>
internal static class DeviceCompare
{
    public static IBackend Backend(string device) => Backends.For(TestDevices.Of(device));

    public static Tensor On(this Tensor t, string device) => t.ToDevice(TestDevices.Of(device));

    public static Tensor? OnOrNull(this Tensor? t, string device) => t?.ToDevice(TestDevices.Of(device));

    /// <summary>Seeded normal values with the given standard deviation and mean.</summary>
    public static Tensor Rand(int seed, int[] shape, float std = 1f, float mean = 0f) =>
        Tensor.RandN(new Generator((ulong)seed), shape, mean, std);

    /// <summary>Asserts |device − cpu| ≤ atol + rtol·|cpu| elementwise (NaN must match NaN), and the same shape; both null is equal.</summary>
    public static void Close(Tensor? cpu, Tensor? device, string what, double rtol = 1e-4, double atol = 1e-5)
    {
        if (cpu == null || device == null)
        {
            Assert.True(cpu == null && device == null, $"{what}: one result is null, the other is not");
            return;
        }
        Assert.Equal(cpu.Shape, device.Shape);
        var e = cpu.ToArray();
        var a = device.ToArray();
        for (int i = 0; i < e.Length; i++)
        {
            if (float.IsNaN(e[i]) || float.IsNaN(a[i]))
            {
                if (!(float.IsNaN(e[i]) && float.IsNaN(a[i]))) Assert.Fail($"{what} element {i}: got {a[i]:G9}, expected {e[i]:G9}");
                continue;
            }
            double err = Math.Abs(a[i] - (double)e[i]);
            if (!(err <= atol + rtol * Math.Abs(e[i])))
                Assert.Fail($"{what} element {i} of {e.Length}: got {a[i]:G9}, expected {e[i]:G9} (|err| {err:G3})");
        }
    }

    /// <summary>Asserts bit-identical values (for ops whose device result must equal the CPU's exactly).</summary>
    public static void Same(Tensor cpu, Tensor device, string what)
    {
        Assert.Equal(cpu.Shape, device.Shape);
        var e = cpu.ToArray();
        var a = device.ToArray();
        for (int i = 0; i < e.Length; i++)
            if (BitConverter.SingleToInt32Bits(e[i]) != BitConverter.SingleToInt32Bits(a[i]) && !(float.IsNaN(e[i]) && float.IsNaN(a[i])))
                Assert.Fail($"{what} element {i}: got {a[i]:G9}, expected {e[i]:G9}");
    }
}
