using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

public sealed partial class GpuBackend
{
    private readonly ConcurrentDictionary<(System.Reflection.MethodInfo, Type), object> _customKernels = new();

    /// <inheritdoc/>
    public void RunCustom(CustomOp op, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs)
    {
        var args = new GpuCustomArgs(this, inputs, outputs);
        try { op.RunGpu(args); }
        finally { args.ReturnTemporaries(); }
    }

    // The GPU side of a custom op: dense device views of its tensors, the backend's stream, and its kernel cache.
    private sealed class GpuCustomArgs(GpuBackend backend, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs) : GpuKernelArgs
    {
        private List<Tensor>? _temporaries;

        public override Device Device => backend.Device;

        public override Accelerator Accelerator => backend.Accelerator;

        public override AcceleratorStream Stream => backend.Stream;

        public override ArrayView<float> Input(int i) => backend.View(inputs[i]);

        public override ArrayView<float> Output(int i) => backend.View(outputs[i]);

        public override ArrayView<float> Temporary(int length)
        {
            // Outside any scope, so that it is returned here and not at the end of a step.
            Tensor t;
            using (TensorScope.Suspend()) t = backend.Empty(length);
            (_temporaries ??= []).Add(t);
            return backend.View(t);
        }

        public override T Kernel<T>(Delegate key, Func<Accelerator, T> load) =>
            (T)backend._customKernels.GetOrAdd((key.Method, typeof(T)), _ => load(backend.Accelerator));

        // Safe while the op's kernels may still run: reuse is ordered after them on the one stream.
        public void ReturnTemporaries()
        {
            if (_temporaries == null) return;
            foreach (var t in _temporaries) t.Storage.Release();
        }
    }
}
