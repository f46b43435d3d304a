using System.Reflection;
using Sifa.Tensors;
using Sifa.Tensors.Elementwise;
using static Sifa.Tests.Gpu.GpuTestUtil;

namespace Sifa.Tests.Gpu;

public class GpuElementwiseTests
{
    /// <summary>Every op struct of ElementwiseOps.cs, constructed (ops with parameters get fixed sample values).</summary>
    public static IEnumerable<object> Ops(Type iface) => typeof(IUnaryOp).Assembly.GetTypes()
        .Where(t => t.IsValueType && iface.IsAssignableFrom(t) && t.Namespace == typeof(IUnaryOp).Namespace)
        .OrderBy(t => t.Name)
        .Select(t =>
        {
            var ctor = t.GetConstructors().FirstOrDefault(c => c.GetParameters().Length > 0);
            if (ctor == null) return Activator.CreateInstance(t)!;
            var args = ctor.GetParameters().Select((p, k) => (object)(k == 0 ? 1.75f : -0.25f)).ToArray();
            return ctor.Invoke(args);
        });

    public static TheoryData<string> UnaryNames() => new(Ops(typeof(IUnaryOp)).Select(o => o.GetType().Name));
    public static TheoryData<string> BinaryNames() => new(Ops(typeof(IBinaryOp)).Select(o => o.GetType().Name));

    private static object Op(string name) =>
        Ops(typeof(IUnaryOp)).Concat(Ops(typeof(IBinaryOp))).Single(o => o.GetType().Name == name);

    private static Tensor Call(string method, IBackend backend, object op, params object?[] args)
    {
        var m = typeof(IBackend).GetMethod(method)!.MakeGenericMethod(op.GetType());
        var all = args.Append(op).Append(null).ToArray();
        // Map(x, op, dst) / Zip(a, b, op, dst)
        try { return (Tensor)m.Invoke(backend, all)!; }
        catch (TargetInvocationException e) { throw e.InnerException!; }
    }

    // Log, sqrt and a fractional power need positive inputs.
    private static Tensor Input(string op, int seed, params int[] shape) =>
        op is "LogOp" or "SqrtOp" or "PowOp" ? RandIn(0.05f, 3f, seed, shape) : RandIn(-3f, 3f, seed, shape);

    [Theory, MemberData(nameof(UnaryNames))]
    public void MapMatchesCpu(string name)
    {
        var op = Op(name);
        var x = Input(name, 1, 3, 5, 7);
        var expect = Call("Map", Backends.Cpu, op, x);
        Close(expect, Call("Map", Backend, op, x.ToDevice(D)), what: name);
        // strided input: a transposed view
        var xt = x.Transpose(0, 2);
        Close(Call("Map", Backends.Cpu, op, xt), Call("Map", Backend, op, x.ToDevice(D).Transpose(0, 2)), what: name + " strided");
    }

    [Theory, MemberData(nameof(BinaryNames))]
    public void ZipMatchesCpu(string name)
    {
        var op = Op(name);
        var a = Input(name, 2, 4, 3, 5);
        var b = Input(name, 3, 4, 3, 5);
        Close(Call("Zip", Backends.Cpu, op, a, b), Call("Zip", Backend, op, a.ToDevice(D), b.ToDevice(D)), what: name);
        var c = Input(name, 4, 3, 1);       // broadcast against (4, 3, 5)
        Close(Call("Zip", Backends.Cpu, op, a, c), Call("Zip", Backend, op, a.ToDevice(D), c.ToDevice(D)), what: name + " broadcast");
        var s = Input(name, 5, 1);          // scalar-like operand first
        Close(Call("Zip", Backends.Cpu, op, s, a), Call("Zip", Backend, op, s.ToDevice(D), a.ToDevice(D)), what: name + " scalar");
        var at = a.Permute(2, 0, 1);        // strided operand and broadcast together
        var d = Input(name, 6, 4, 1);
        Close(Call("Zip", Backends.Cpu, op, at, d), Call("Zip", Backend, op, a.ToDevice(D).Permute(2, 0, 1), d.ToDevice(D)), what: name + " strided");
    }

    [Fact]
    public void InPlaceAddAndOperators()
    {
        var a = Rand(7, 6, 8); var b = Rand(8, 8);
        var ga = a.ToDevice(D);
        ga.AddInPlace(b.ToDevice(D));
        Close(a.Clone().AddInPlace(b), ga);
        var x = Rand(9, 5, 4);
        var gx = x.ToDevice(D);
        Close((x * 2f + 1f) / 3f - x.Exp(), (gx * 2f + 1f) / 3f - gx.Exp());
        Close(x.Relu().Sigmoid().Gelu(), gx.Relu().Sigmoid().Gelu());
    }

    [Fact]
    public void EmptyTensorsLaunchNothing()
    {
        var e = Tensor.Empty([0, 3], D);
        Assert.Equal([0, 3], e.Exp().Shape);
        Assert.Equal([0, 3], (e + e).Shape);
    }
}
