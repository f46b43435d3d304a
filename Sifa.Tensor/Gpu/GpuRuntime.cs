using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Sifa.Tensors.Gpu;

/// <summary>The process's one ILGPU context, and the accelerators for Sifa's devices.</summary>
internal static class GpuRuntime
{
    private static readonly Lazy<Context> Shared = new(CreateContext);

    /// <summary>The ILGPU context (created on first use, after the native-library resolvers are installed).</summary>
    public static Context Context => Shared.Value;

    private static Context CreateContext()
    {
        NativeLibraries.Install();
        // Every CUDA device is listed (not only those ILGPU can target) so an unusable one gets a precise error below.
        return Context.Create(b => b.DefaultCPU().Cuda(_ => true).EnableAlgorithms());
    }

    /// <summary>Creates the accelerator for a device, or throws <see cref="NotSupportedException"/> with one clear line.</summary>
    public static Accelerator CreateAccelerator(Device device)
    {
        switch (device.Kind)
        {
            case DeviceKind.IlgpuCpu:
                return Context.CreateCPUAccelerator(0);
            case DeviceKind.Cuda:
                if (CudaProblem(device.Index) is { } problem) throw new NotSupportedException($"{device}: {problem}");
                var devices = Context.GetCudaDevices();
                if (device.Index >= devices.Count)
                    throw new NotSupportedException($"{device}: no CUDA device (ILGPU found {devices.Count})");
                var d = devices[device.Index];
                if (d.InstructionSet == null)
                {
                    CudaAccelerator.TryGetInstructionSet(d.Architecture!.Value, d.DriverVersion, out var min, out _);
                    throw new NotSupportedException(
                        $"{device}: driver too old (CUDA driver {d.DriverVersion}, {d.Name} needs at least {min})");
                }
                return d.CreateCudaAccelerator(Context);
            default:
                throw new NotSupportedException($"the GPU backend does not run on {device}");
        }
    }

    // The driver's own answer, asked before ILGPU (which hides every failure behind "no devices").
    private static unsafe string? CudaProblem(int index)
    {
        NativeLibraries.Install();
        var lib = NativeLibraries.CudaDriver;
        if (lib == IntPtr.Zero) return "no CUDA driver found (libcuda.so.1)";
        if (!NativeLibrary.TryGetExport(lib, "cuInit", out var init) || !NativeLibrary.TryGetExport(lib, "cuDeviceGetCount", out var count))
            return "driver too old (libcuda.so.1 lacks cuInit/cuDeviceGetCount)";
        int rc = ((delegate* unmanaged<uint, int>)init)(0);
        if (rc == 35) return "driver too old (cuInit: CUDA_ERROR_INSUFFICIENT_DRIVER)";
        if (rc == 100) return "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)";
        if (rc != 0) return $"no CUDA device (cuInit failed with CUDA error {rc})";
        int n;
        rc = ((delegate* unmanaged<int*, int>)count)(&n);
        if (rc != 0) return $"no CUDA device (cuDeviceGetCount failed with CUDA error {rc})";
        if (index >= n) return n == 0 ? "no CUDA device" : $"no CUDA device with index {index} ({n} found)";
        return null;
    }
}
