using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace Sifa.Tensors.Gpu;

// The kernel cache. ILGPU keeps loaded kernels only weakly, so each kernel method (each generic instantiation is its
// own method) is compiled and loaded once per backend here and the launcher delegate kept:
//   Kernel(MyKernel)(Stream, n, args...)            implicitly grouped: static void MyKernel(Index1D i, ...)
//   GroupedKernel(MyKernel)(Stream, config, args...) explicitly grouped: static void MyKernel(...) using Group/Grid
// (generated for 1 to 12 kernel parameters).
public sealed partial class GpuBackend
{
    private readonly ConcurrentDictionary<MethodInfo, Delegate> _kernels = new();

    private TLauncher Cached<TLauncher>(MethodInfo method, Func<TLauncher> load) where TLauncher : Delegate =>
        (TLauncher)_kernels.GetOrAdd(method, _ => load());

    internal Action<AcceleratorStream, TIndex, T1> Kernel<TIndex, T1>(Action<TIndex, T1> kernel)
        where TIndex : struct, IIndex where T1 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1> GroupedKernel<T1>(Action<T1> kernel)
        where T1 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2> Kernel<TIndex, T1, T2>(Action<TIndex, T1, T2> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2> GroupedKernel<T1, T2>(Action<T1, T2> kernel)
        where T1 : struct where T2 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3> Kernel<TIndex, T1, T2, T3>(Action<TIndex, T1, T2, T3> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3> GroupedKernel<T1, T2, T3>(Action<T1, T2, T3> kernel)
        where T1 : struct where T2 : struct where T3 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4> Kernel<TIndex, T1, T2, T3, T4>(Action<TIndex, T1, T2, T3, T4> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4> GroupedKernel<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5> Kernel<TIndex, T1, T2, T3, T4, T5>(Action<TIndex, T1, T2, T3, T4, T5> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5> GroupedKernel<T1, T2, T3, T4, T5>(Action<T1, T2, T3, T4, T5> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6> Kernel<TIndex, T1, T2, T3, T4, T5, T6>(Action<TIndex, T1, T2, T3, T4, T5, T6> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6> GroupedKernel<T1, T2, T3, T4, T5, T6>(Action<T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6, T7> Kernel<TIndex, T1, T2, T3, T4, T5, T6, T7>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6, T7> GroupedKernel<T1, T2, T3, T4, T5, T6, T7>(Action<T1, T2, T3, T4, T5, T6, T7> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6, T7, T8> Kernel<TIndex, T1, T2, T3, T4, T5, T6, T7, T8>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8> GroupedKernel<T1, T2, T3, T4, T5, T6, T7, T8>(Action<T1, T2, T3, T4, T5, T6, T7, T8> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9> Kernel<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9> GroupedKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> Kernel<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> GroupedKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> Kernel<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> GroupedKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));

    internal Action<AcceleratorStream, TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> Kernel<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12>(Action<TIndex, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> kernel)
        where TIndex : struct, IIndex where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct where T12 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadAutoGroupedKernel(kernel));

    internal Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> GroupedKernel<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12>(Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct where T10 : struct where T11 : struct where T12 : struct =>
        Cached(kernel.Method, () => _accelerator.LoadKernel(kernel));
}
