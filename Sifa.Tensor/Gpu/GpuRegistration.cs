using System.Runtime.CompilerServices;

// ILGPU's CPU accelerator emits its kernel tasks into a dynamic assembly of this name; kernels take internal structs.
[assembly: InternalsVisibleTo("ILGPURuntime")]

namespace Sifa.Tensors.Gpu;

// Registers the GPU backend when Sifa.Tensor loads, so that Backends.For(Device.Cuda / Device.IlgpuCpu) creates it on
// first use and nothing outside this folder names a GPU type. Creating the backend (ILGPU context, driver probe)
// happens only then, not at load.
internal static class GpuRegistration
{
#pragma warning disable CA2255 // a module initializer in a library is the point: registration without a call from outside
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        Backends.RegisterFactory(DeviceKind.Cuda, GpuBackend.Create);
        Backends.RegisterFactory(DeviceKind.IlgpuCpu, GpuBackend.Create);
    }
}
