using Sifa.Tensors;
using static Sifa.Tests.Gpu.DeviceCompare;

namespace Sifa.Tests.Gpu;

/// <summary>Batch norm (train, eval, fused ReLU, backward) on every device equal to the CPU backend.</summary>
public class BatchNormGpuTests
{
    public static TheoryData<string, int[], bool, bool> Cases()
    {
        int[][] shapes = [[3, 4, 5, 3], [5, 3], [2, 3, 7], [2, 2, 1, 1], [4, 1, 3, 3]];
        var data = new TheoryData<string, int[], bool, bool>();
        foreach (var d in TestDevices.Available())
            for (int i = 0; i < shapes.Length; i++)
                data.Add(d.ToString(), shapes[i], i % 2 == 0, i % 3 != 1); // affine / relu vary across the shapes
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void TrainForwardAndRunningStatsMatchCpu(string device, int[] shape, bool affine, bool relu)
    {
        int c = shape[1];
        var x = Rand(1, shape, 2f, 0.5f);
        var w = affine ? Rand(2, [c]) : null;
        var b = affine ? Rand(3, [c]) : null;
        var rmCpu = Rand(4, [c]);
        var rvCpu = Rand(5, [c], 0.1f, 1f);
        var rmDev = rmCpu.On(device);
        var rvDev = rvCpu.On(device);
        var cpu = Backends.Cpu.BatchNormTrainForward(x, w, b, rmCpu, rvCpu, 0.1f, 1e-5f, relu);
        var dev = Backend(device).BatchNormTrainForward(x.On(device), w.OnOrNull(device), b.OnOrNull(device), rmDev, rvDev, 0.1f, 1e-5f, relu);
        Close(cpu.Output, dev.Output, "y");
        Close(cpu.Mean, dev.Mean, "mean");
        Close(cpu.InvStd, dev.InvStd, "invstd");
        Close(rmCpu, rmDev, "running mean");
        Close(rvCpu, rvDev, "running var");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void TrainForwardWithoutOrWithOneRunningStat(string device)
    {
        var x = Rand(6, [4, 3, 2, 2]);
        var cpu = Backends.Cpu.BatchNormTrainForward(x, null, null, null, null, 0.1f, 1e-5f);
        var dev = Backend(device).BatchNormTrainForward(x.On(device), null, null, null, null, 0.1f, 1e-5f);
        Close(cpu.Output, dev.Output, "y");
        var rv = Tensor.Ones(3);
        var rvDev = rv.On(device);
        Backends.Cpu.BatchNormTrainForward(x, null, null, null, rv, 0.3f, 1e-3f);
        Backend(device).BatchNormTrainForward(x.On(device), null, null, null, rvDev, 0.3f, 1e-3f);
        Close(rv, rvDev, "running var alone");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void StridedRunningStatsAreUpdatedInPlace(string device)
    {
        var x = Rand(7, [3, 4, 2]);
        var statsCpu = Rand(8, [4, 2]);                      // column 0: running mean, column 1: running var (+2)
        var statsDev = statsCpu.On(device);
        var be = Backend(device);
        Backends.Cpu.BatchNormTrainForward(x, null, null, statsCpu.Select(1, 0), statsCpu.Select(1, 1), 0.2f, 1e-5f);
        be.BatchNormTrainForward(x.On(device), null, null, statsDev.Select(1, 0), statsDev.Select(1, 1), 0.2f, 1e-5f);
        Close(statsCpu, statsDev, "strided running stats");
    }

    [Theory, MemberData(nameof(Cases))]
    public void EvalForwardMatchesCpu(string device, int[] shape, bool affine, bool relu)
    {
        int c = shape[1];
        var x = Rand(11, shape);
        var w = affine ? Rand(12, [c]) : null;
        var b = affine ? Rand(13, [c]) : null;
        var m = Rand(14, [c]);
        var v = Rand(15, [c], 0.2f, 1f);
        var cpu = Backends.Cpu.BatchNormEvalForward(x, w, b, m, v, 1e-5f, relu);
        var dev = Backend(device).BatchNormEvalForward(x.On(device), w.OnOrNull(device), b.OnOrNull(device), m.On(device), v.On(device), 1e-5f, relu);
        Close(cpu, dev, "y");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesCpu(string device, int[] shape, bool affine, bool relu)
    {
        int c = shape[1];
        var x = Rand(21, shape, 1.5f, -0.3f);
        var w = affine ? Rand(22, [c]) : null;
        var b = affine ? Rand(23, [c]) : null;
        var dy = Rand(24, shape);
        var fwd = Backends.Cpu.BatchNormTrainForward(x, w, b, null, null, 0.1f, 1e-5f, relu);
        var y = relu ? fwd.Output : null;
        var be = Backend(device);
        foreach (bool batchStats in new[] { true, false })
        {
            var cpu = Backends.Cpu.BatchNormBackward(dy, x, w, fwd.Mean, fwd.InvStd, batchStats, true, true, true, y);
            var dev = be.BatchNormBackward(dy.On(device), x.On(device), w.OnOrNull(device), fwd.Mean.On(device), fwd.InvStd.On(device),
                batchStats, true, true, true, y.OnOrNull(device));
            Close(cpu.Input, dev.Input, $"dx (batch stats {batchStats})");
            Close(cpu.Weight, dev.Weight, $"dweight (batch stats {batchStats})");
            Close(cpu.Bias, dev.Bias, $"dbias (batch stats {batchStats})");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void BackwardSubsetsMatchCpu(string device)
    {
        var x = Rand(31, [2, 3, 3, 2]);
        var dy = Rand(32, [2, 3, 3, 2]);
        var w = Rand(33, [3]);
        var fwd = Backends.Cpu.BatchNormTrainForward(x, w, null, null, null, 0.1f, 1e-5f);
        var be = Backend(device);
        foreach (var (bs, ni, nw, nb) in new[] { (true, true, false, false), (false, true, false, false), (true, false, true, false), (false, false, false, true) })
        {
            var cpu = Backends.Cpu.BatchNormBackward(dy, x, w, fwd.Mean, fwd.InvStd, bs, ni, nw, nb);
            var dev = be.BatchNormBackward(dy.On(device), x.On(device), w.On(device), fwd.Mean.On(device), fwd.InvStd.On(device), bs, ni, nw, nb);
            string what = $"(batchStats {bs}, input {ni}, weight {nw}, bias {nb})";
            Close(cpu.Input, dev.Input, "dx " + what);
            Close(cpu.Weight, dev.Weight, "dweight " + what);
            Close(cpu.Bias, dev.Bias, "dbias " + what);
        }
    }
}
