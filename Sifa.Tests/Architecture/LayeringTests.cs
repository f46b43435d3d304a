using System.Reflection;
using NetArchTest.Rules;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Tests.Architecture;

/// <summary>
/// The layering the design names, checked on the compiled assemblies: lower layers never depend on higher ones, and
/// nothing outside a backend names that backend's types (the seam carries data only).
/// </summary>
public class LayeringTests
{
    private static readonly Assembly TensorLib = typeof(Tensor).Assembly;
    private static readonly Assembly AutogradLib = typeof(Variable).Assembly;
    private static readonly Assembly NnLib = typeof(Sifa.Nn.Module).Assembly;
    private static readonly Assembly ModelsLib = typeof(SifaBlock).Assembly;
    private static readonly Assembly DataLib = typeof(Sifa.Data.SyntheticMotionDataset).Assembly;
    private static readonly Assembly TrainingLib = typeof(Sifa.Training.Trainer).Assembly;
    private static readonly Assembly DistributedLib = typeof(Sifa.Distributed.ICollective).Assembly;
    private static readonly Assembly CliLib = typeof(Sifa.Cli.Bench.GpuCheck).Assembly;

    private static string Describe(TestResult r) =>
        r.IsSuccessful ? "" : "violations: " + string.Join(", ", r.FailingTypeNames ?? []);

    public static TheoryData<string, string[]> Layers => new()
    {
        // assembly, the namespaces of higher layers it must not use
        { "Sifa.Tensor", ["Sifa.Autograd", "Sifa.Nn", "Sifa.Models", "Sifa.Data", "Sifa.Distributed", "Sifa.Training", "Sifa.Cli"] },
        { "Sifa.Autograd", ["Sifa.Nn", "Sifa.Models", "Sifa.Data", "Sifa.Distributed", "Sifa.Training", "Sifa.Cli"] },
        { "Sifa.Nn", ["Sifa.Models", "Sifa.Data", "Sifa.Distributed", "Sifa.Training", "Sifa.Cli"] },
        { "Sifa.Models", ["Sifa.Data", "Sifa.Distributed", "Sifa.Training", "Sifa.Cli"] },
        { "Sifa.Data", ["Sifa.Autograd", "Sifa.Nn", "Sifa.Models", "Sifa.Distributed", "Sifa.Training", "Sifa.Cli"] },
        // Collectives and gradient buckets sit on autograd; the trainer wires them to models and data.
        { "Sifa.Distributed", ["Sifa.Nn", "Sifa.Models", "Sifa.Data", "Sifa.Training", "Sifa.Cli"] },
        { "Sifa.Training", ["Sifa.Cli"] },
    };

    [Theory, MemberData(nameof(Layers))]
    public void LowerLayersDoNotDependOnHigherOnes(string assembly, string[] higher)
    {
        var asm = new[] { TensorLib, AutogradLib, NnLib, ModelsLib, DataLib, DistributedLib, TrainingLib }.Single(a => a.GetName().Name == assembly);
        var r = Types.InAssembly(asm).ShouldNot().HaveDependencyOnAny(higher).GetResult();
        Assert.True(r.IsSuccessful, $"{assembly} depends on a higher layer: {Describe(r)}");
    }

    [Theory]
    [InlineData("Sifa.Tensors.Cpu")]
    [InlineData("Sifa.Tensors.Gpu")]
    public void OnlyTheBackendNamesItsOwnTypes(string backend)
    {
        // Inside Sifa.Tensor: the seam (Tensor, IBackend, Backends, Storage, op contracts, element-wise structs) and the
        // other backend never name a backend's namespace; registration happens inside the backend (module initializer).
        var inTensor = Types.InAssembly(TensorLib).That().DoNotResideInNamespace(backend)
            .ShouldNot().HaveDependencyOn(backend).GetResult();
        Assert.True(inTensor.IsSuccessful, $"Sifa.Tensor types outside {backend} use it: {Describe(inTensor)}");
        // The CLI is checked for the GPU backend only: `bench gemm` still names CpuParallel for its thread count.
        var above = backend.EndsWith(".Gpu", StringComparison.Ordinal)
            ? new[] { AutogradLib, NnLib, DataLib, DistributedLib, TrainingLib, CliLib }
            : new[] { AutogradLib, NnLib, DataLib, DistributedLib, TrainingLib };
        foreach (var asm in above)
        {
            var r = Types.InAssembly(asm).ShouldNot().HaveDependencyOn(backend).GetResult();
            Assert.True(r.IsSuccessful, $"{asm.GetName().Name} uses {backend}: {Describe(r)}");
        }
        // Sifa.Models holds custom ops; only their kernel classes may use a backend's public kernel helpers
        // (CpuParallel for host kernels).
        var models = Types.InAssembly(ModelsLib).That().DoNotHaveNameEndingWith("Kernels")
            .ShouldNot().HaveDependencyOn(backend).GetResult();
        Assert.True(models.IsSuccessful, $"Sifa.Models types other than kernels use {backend}: {Describe(models)}");
    }

    [Fact]
    public void TheTensorLibraryKnowsNothingOfSifa()
    {
        // The framework's own names (SifaException) are fine; the SIFA op's (SifaShape, SifaKernels, SifaForward,
        // DeformGather, ...) belong to Sifa.Models.
        var op = new System.Text.RegularExpressions.Regex("^Sifa(?!Exception)|DeformGather|BilinearTaps");
        var types = TensorLib.GetTypes().Where(t => op.IsMatch(t.Name)).Select(t => t.FullName!);
        var methods = typeof(IBackend).GetMethods().Where(m => op.IsMatch(m.Name)).Select(m => "IBackend." + m.Name);
        var found = types.Concat(methods).ToList();
        Assert.True(found.Count == 0, "SIFA op in Sifa.Tensor: " + string.Join(", ", found));
    }
}
