using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>A Bernoulli mask on every device is the CPU's mask for the same generator state.</summary>
public class DropoutGpuTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void MaskEqualsCpuForTheSameGenerator(string device)
    {
        foreach (var (shape, keep) in new[] { (new[] { 3, 5, 7 }, 0.7f), (new[] { 1 }, 0.5f), (new[] { 4, 4 }, 0f), (new[] { 9 }, 1f) })
        {
            var cpuGen = new Generator(42);
            var devGen = new Generator(42);
            var cpu = Backends.Cpu.BernoulliMask(shape, keep, 1f / Math.Max(keep, 1e-3f), cpuGen);
            var dev = Backend(device).BernoulliMask(shape, keep, 1f / Math.Max(keep, 1e-3f), devGen);
            Assert.Equal(TestDevices.Of(device), dev.Device);
            Same(cpu, dev, $"mask {Tensor.Fmt(shape)} keep {keep}");
            Assert.Equal(cpuGen.NextUInt64(), devGen.NextUInt64()); // the generator advanced by the same draws
        }
    }
}
