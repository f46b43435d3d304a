using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors;

/// <summary>
/// An op with a kernel per device, defined outside the tensor library (as torchvision's ops sit on top of torch, or
/// candle's custom ops): the SIFA op of Sifa.Models is one (docs/custom-ops.md walks through it). A subclass
/// <list type="number">
/// <item>checks its arguments once and says which outputs it makes (<see cref="Run"/>'s shapes),</item>
/// <item>implements <see cref="RunCpu"/> over dense host spans,</item>
/// <item>and, to run on a GPU, <see cref="RunGpu"/> with ILGPU kernels over dense device views.</item>
/// </list>
/// Inputs are made dense on their common device and outputs allocated there before the kernel runs; an op without a
/// kernel for the device fails naming the op and the device: nothing silently runs elsewhere.
/// </summary>
public abstract class CustomOp
{
    /// <summary>The op's name, used in errors and profiles.</summary>
    public abstract string Name { get; }

    /// <summary>The CPU kernel: reads <see cref="CpuKernelArgs.Input"/>, writes every element of each <see cref="CpuKernelArgs.Output"/>.</summary>
    protected internal abstract void RunCpu(CpuKernelArgs args);

    /// <summary>The GPU kernel (ILGPU): enqueues work on <see cref="GpuKernelArgs.Stream"/>; it must not wait for it.</summary>
    /// <exception cref="NotSupportedException">The op has no GPU kernel (the default).</exception>
    protected internal virtual void RunGpu(GpuKernelArgs args) =>
        throw new NotSupportedException($"{Name} has no GPU kernel: it cannot run on {args.Device}");

    /// <summary>Runs the op on the device of its inputs, returning new dense outputs of the given shapes.</summary>
    /// <exception cref="ArgumentException">The inputs are on different devices.</exception>
    public Tensor[] Run(IReadOnlyList<Tensor> inputs, params int[][] outputShapes)
    {
        if (inputs.Count == 0) throw new ArgumentException($"{Name}: a custom op needs at least one input");
        var device = inputs[0].Device;
        var dense = new Tensor[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Device != device)
                throw new ArgumentException($"{Name}: input {i} is on {inputs[i].Device}, input 0 on {device}; move them to one device");
            dense[i] = inputs[i].Contiguous();
        }
        var outputs = new Tensor[outputShapes.Length];
        for (int i = 0; i < outputs.Length; i++) outputs[i] = Tensor.Empty(outputShapes[i], device);
        Backends.For(device).RunCustom(this, dense, outputs);
        return outputs;
    }
}

/// <summary>What a CPU kernel of a <see cref="CustomOp"/> sees: its dense inputs and outputs as host spans.</summary>
public sealed class CpuKernelArgs
{
    private readonly IReadOnlyList<Tensor> _inputs, _outputs;

    internal CpuKernelArgs(IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs)
    {
        _inputs = inputs;
        _outputs = outputs;
    }

    /// <summary>Input <paramref name="i"/> in row-major order.</summary>
    public ReadOnlySpan<float> Input(int i) => _inputs[i].AsSpan();

    /// <summary>Output <paramref name="i"/> in row-major order (uninitialised: the kernel writes every element).</summary>
    public Span<float> Output(int i) => _outputs[i].AsSpan();
}

/// <summary>
/// What a GPU kernel of a <see cref="CustomOp"/> sees: the ILGPU accelerator and stream of the device, its dense inputs
/// and outputs as device views, and a cache for its loaded kernels (loading compiles: do it once per accelerator).
/// </summary>
public abstract class GpuKernelArgs
{
    /// <summary>The device the op runs on.</summary>
    public abstract Device Device { get; }

    /// <summary>The ILGPU accelerator of the device.</summary>
    public abstract Accelerator Accelerator { get; }

    /// <summary>The stream every kernel of the backend is launched on, in order.</summary>
    public abstract AcceleratorStream Stream { get; }

    /// <summary>Input <paramref name="i"/> in row-major order.</summary>
    public abstract ArrayView<float> Input(int i);

    /// <summary>Output <paramref name="i"/> in row-major order (uninitialised: the kernel writes every element).</summary>
    public abstract ArrayView<float> Output(int i);

    /// <summary>
    /// A scratch buffer of <paramref name="length"/> floats (uninitialised) from the device's caching allocator, valid
    /// for the kernels this op enqueues: it goes back to the pool when the op returns, and the single stream orders its
    /// next use after them.
    /// </summary>
    public abstract ArrayView<float> Temporary(int length);

    /// <summary>
    /// The value <paramref name="load"/> makes for this accelerator, made once per key and kept (ILGPU caches
    /// compiled kernels only weakly): e.g. <c>args.Kernel(MyKernel, a => a.LoadAutoGroupedKernel&lt;...&gt;(MyKernel))</c>.
    /// </summary>
    public abstract T Kernel<T>(Delegate key, Func<Accelerator, T> load) where T : class;
}
