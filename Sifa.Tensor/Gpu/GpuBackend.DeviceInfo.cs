using System.Globalization;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Sifa.Tensors.Gpu;

// The seam's view of the GPU backend (IDeviceInfo): what the hardware and ILGPU are, and the allocator's statistics.
public sealed partial class GpuBackend : IDeviceInfo
{
    private bool _vendorMatmulOff;

    /// <inheritdoc/>
    public string Name => _accelerator.Name;

    /// <inheritdoc/>
    public string Details
    {
        get
        {
            var ci = CultureInfo.InvariantCulture;
            var a = _accelerator;
            string common = string.Format(ci, "accelerator={0} memory_mib={1} multiprocessors={2} warp={3} max_group={4}",
                a.AcceleratorType, a.MemorySize >> 20, a.NumMultiprocessors, a.WarpSize, a.MaxNumThreadsPerGroup);
            if (a is CudaAccelerator c)
            {
                return string.Format(ci, "{0} driver={1} compute_capability={2}.{3} arch={4} isa={5} {6}",
                    common, c.DriverVersion, c.Architecture.Major, c.Architecture.Minor, c.Architecture, c.InstructionSet, CuBlasDetails());
            }
            string threads = a is CPUAccelerator cpu ? string.Format(ci, " threads={0} mode={1}", cpu.NumThreads, cpu.Mode) : "";
            return common + threads + " cublas=none (not a CUDA device)";
        }
    }

    private string CuBlasDetails()
    {
        if (Environment.GetEnvironmentVariable("SIFA_NO_CUBLAS") == "1") return "cublas=off (SIFA_NO_CUBLAS=1)";
        if (_cuBlas.Value is not { } blas) return "cublas=not found (the tiled kernel runs matmul)";
        int v = blas.Version; // major·10000 + minor·100 + patch since cuBLAS 11 (e.g. 130001)
        // DefaultMath (CUBLAS_DEFAULT_MATH) keeps SGEMM in full FP32: TF32 would need CUBLAS_TF32_TENSOR_OP_MATH (3), which
        // this backend never sets (ILGPU's enum lacks it; cublasSetMathMode would take it as a cast).
        return string.Format(CultureInfo.InvariantCulture, "cublas={0}.{1}.{2} cublas_lib={3} math_mode={4} tf32=off",
            v / 10000, v / 100 % 100, v % 100, NativeLibraries.CuBlasSource ?? "system loader", blas.MathMode);
    }

    /// <inheritdoc/>
    public DeviceMemoryStats Memory
    {
        get
        {
            var s = _allocator.Stats;
            return new(s.BytesInUse, s.BytesCached, s.PeakBytesInUse, s.DeviceAllocations, s.Requests);
        }
    }

    /// <inheritdoc/>
    public bool VendorMatmul
    {
        get => !_vendorMatmulOff && UsesCuBlas;
        set => _vendorMatmulOff = !value;
    }
}
