using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Sifa.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Tests.Gpu;

/// <summary>
/// Compiles every GPU kernel to PTX without a GPU (ILGPU's PTX backend needs only a context), so a kernel that the CPU
/// accelerator runs but CUDA cannot (an unsupported intrinsic, a managed call) fails here and not on the first GPU run.
/// Kernels are found by convention: the public static methods of the static classes named *Kernels in
/// Sifa.Tensors.Gpu (and the *GpuKernels classes of custom ops in Sifa.Models); a first parameter of type Index1D/2D/3D marks an implicitly grouped kernel, anything else an
/// explicitly grouped one. Generic kernels are compiled for every op struct that satisfies their constraint.
/// </summary>
public class PtxCompileTests
{
    private static readonly Assembly Tensors = typeof(Tensor).Assembly;

    // Custom ops outside the tensor library follow the same convention with classes named *GpuKernels (the SIFA op).
    private static readonly Assembly Models = typeof(Sifa.Models.SifaBlock).Assembly;

    public static IEnumerable<MethodInfo> KernelMethods() => Tensors.GetTypes()
        .Where(t => t.Namespace == "Sifa.Tensors.Gpu" && t.IsAbstract && t.IsSealed && t.Name.EndsWith("Kernels", StringComparison.Ordinal))
        .Concat(Models.GetTypes().Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("GpuKernels", StringComparison.Ordinal)))
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .SelectMany(Instantiations);

    private static IEnumerable<MethodInfo> Instantiations(MethodInfo m)
    {
        if (!m.IsGenericMethodDefinition) { yield return m; yield break; }
        var arg = m.GetGenericArguments().Single();
        var iface = arg.GetGenericParameterConstraints().Single(c => c.IsInterface);
        foreach (var op in Tensors.GetTypes().Where(t => t.IsValueType && iface.IsAssignableFrom(t) && (t.Namespace == typeof(IUnaryOp).Namespace || t.Namespace == "Sifa.Tensors.Gpu")))
            yield return m.MakeGenericMethod(op);
    }

    public static TheoryData<string> KernelNames() => new(KernelMethods().Select(Name));

    private static string Name(MethodInfo m) =>
        $"{m.DeclaringType!.Name}.{m.Name}" + (m.IsGenericMethod ? $"<{string.Join(",", m.GetGenericArguments().Select(a => a.Name))}>" : "");

    private static readonly Lazy<(Context Context, PTXBackend Backend)> Ptx = new(() =>
    {
        var context = Context.Create(b => b.DefaultCPU().EnableAlgorithms());
        return (context, new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null));
    });

    [Fact]
    public void FindsKernels()
    {
        Assert.True(KernelMethods().Count() >= 10, "the kernel discovery convention found too few kernels");
        Assert.Contains(KernelMethods(), m => m.DeclaringType!.Name == "SifaGpuKernels" && m.Name == "BackwardInputs");
    }

    [Theory, MemberData(nameof(KernelNames))]
    public void CompilesToPtx(string name)
    {
        var method = KernelMethods().Single(m => Name(m) == name);
        var first = method.GetParameters()[0].ParameterType;
        var entry = first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var (_, backend) = Ptx.Value;
        CompiledKernel compiled;
        lock (backend) compiled = backend.Compile(entry, KernelSpecialization.Empty);
        var ptx = Assert.IsType<PTXCompiledKernel>(compiled).PTXAssembly;
        Assert.Contains(".entry", ptx);
    }
}
