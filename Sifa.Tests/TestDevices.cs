using Sifa.Tensors;

namespace Sifa.Tests;

/// <summary>
/// The devices every per-device test runs on (candle's <c>test_device!</c>): the CPU always; ILGPU's CPU accelerator
/// when the GPU backend is built in; a CUDA GPU only when one is present (otherwise its cases are not generated, and
/// <see cref="CudaOrSkip"/> reports a visible skip).
/// </summary>
public static class TestDevices
{
    /// <summary>Every device to test on, as xunit member data: <c>[Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]</c>.</summary>
    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var d in Available()) data.Add(d.ToString());
            return data;
        }
    }

    /// <summary>The devices whose backend can be created in this process.</summary>
    public static IEnumerable<Device> Available()
    {
        yield return Device.Cpu;
        if (Backends.TryGet(Device.IlgpuCpu, out _)) yield return Device.IlgpuCpu;
        if (Backends.TryGet(Device.Cuda, out _)) yield return Device.Cuda;
    }

    /// <summary>Parses a device name from member data.</summary>
    public static Device Of(string name) => Device.Parse(name);
}
