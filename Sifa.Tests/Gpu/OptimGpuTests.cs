using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>Fused SGD / AdamW steps and the gradient-norm helpers on every device equal to the CPU backend.</summary>
public class OptimGpuTests
{
    // Both devices run OptimMath's float operations in the same order; the tolerance only allows a GPU compiler's
    // multiply-add contraction.
    private const double Tol = 2e-6;

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void SgdStepsMatchCpu(string device)
    {
        var be = Backend(device);
        foreach (var (momentum, nesterov, wd) in new[] { (0.0, false, 0.0), (0.9, false, 1e-4), (0.9, true, 0.01) })
        {
            var p = Rand(1, [37]); var g = Rand(2, [37]);
            var buf = momentum != 0 ? Tensor.Zeros(37) : null;
            var pd = p.On(device); var gd = g.On(device); var bd = buf.OnOrNull(device);
            for (int step = 0; step < 3; step++)
            {
                var args = SgdStepArgs.Create(0.1, momentum, 0.1, wd, nesterov, firstStep: step == 0);
                Backends.Cpu.SgdStep(p, g, buf, args);
                be.SgdStep(pd, gd, bd, args);
            }
            Close(p, pd, $"param (momentum {momentum}, nesterov {nesterov})", Tol, 1e-7);
            Close(buf, bd, "momentum buffer", Tol, 1e-7);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void AdamWStepsMatchCpu(string device)
    {
        var be = Backend(device);
        foreach (double wd in new[] { 0.0, 0.05 })
        {
            var p = Rand(3, [5, 9]); var g = Rand(4, [5, 9]);
            Tensor m = Tensor.Zeros(5, 9), v = Tensor.Zeros(5, 9);
            Tensor pd = p.On(device), gd = g.On(device), md = m.On(device), vd = v.On(device);
            for (int step = 1; step <= 3; step++)
            {
                var args = AdamWStepArgs.Create(1e-3, 0.9, 0.999, 1e-8, wd, step);
                Backends.Cpu.AdamWStep(p, g, m, v, args);
                be.AdamWStep(pd, gd, md, vd, args);
            }
            Close(p, pd, $"param (wd {wd})", Tol, 1e-7);
            Close(m, md, "exp_avg", Tol, 1e-7);
            Close(v, vd, "exp_avg_sq", Tol, 1e-9);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void SumOfSquaresAndScaleMatchCpu(string device)
    {
        var be = Backend(device);
        Tensor[] cpu = [Rand(5, [9000]), Rand(6, [3]), Tensor.Zeros(0), Rand(7, [4096])]; // several blocks, a tail, an empty tensor
        var dev = cpu.Select(t => t.On(device)).ToArray();
        double expected = Backends.Cpu.SumOfSquares(cpu), actual = be.SumOfSquares(dev);
        Assert.True(Math.Abs(actual - expected) <= 1e-12 * expected, $"sum of squares {actual:R}, expected {expected:R}");
        Assert.Equal(0.0, be.SumOfSquares([]));
        Backends.Cpu.ScaleInPlace(cpu, 0.37f);
        be.ScaleInPlace(dev, 0.37f);
        for (int i = 0; i < cpu.Length; i++) Same(cpu[i], dev[i], $"scaled tensor {i}");
    }
}
