namespace Sifa.Tensors.Gpu;

// Dropout masks on the GPU.
public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    /// <remarks>
    /// The contract asks for the CPU's mask for the same generator (drawn in row-major order), so the mask is drawn on the
    /// host by the CPU backend's code and uploaded: exact by construction, at the price of one host→device copy of the mask.
    /// Drawing on the device would need xoshiro256** jump-ahead to each thread's offset (GF(2) jump matrices for
    /// 2^k steps), the next speedup if masks ever show in profiles.
    /// </remarks>
    public Tensor BernoulliMask(int[] shape, float keepProb, float scale, Generator generator)
    {
        var host = Backends.Cpu.BernoulliMask(shape, keepProb, scale, generator);
        return host.ToDevice(Device);
    }
}
