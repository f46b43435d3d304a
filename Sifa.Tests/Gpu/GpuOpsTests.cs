using Sifa.Tensors;
using static Sifa.Tests.Gpu.GpuTestUtil;

namespace Sifa.Tests.Gpu;

/// <summary>Reduce, ArgMax, Softmax, Matmul and the indexing ops on ilgpu-cpu against the CPU backend.</summary>
public class GpuOpsTests
{
    public static TheoryData<int[], bool> ReduceCases() => new()
    {
        { [2], false }, { [0], true }, { [1], false }, { [0, 1], false }, { [1, 2], true }, { [0, 2], false }, { [0, 1, 2], false },
    };

    [Theory, MemberData(nameof(ReduceCases))]
    public void ReduceMatchesCpu(int[] dims, bool keepDim)
    {
        var x = Rand(11, 4, 5, 6);
        var g = x.ToDevice(D);
        foreach (var kind in Enum.GetValues<ReduceKind>())
        {
            Close(Backends.Cpu.Reduce(x, dims, keepDim, kind), Backend.Reduce(g, dims, keepDim, kind), what: $"{kind} {Tensor.Fmt(dims)}");
            var xt = x.Transpose(0, 2);
            Close(Backends.Cpu.Reduce(xt, dims, keepDim, kind), Backend.Reduce(g.Transpose(0, 2), dims, keepDim, kind), what: $"{kind} strided");
        }
    }

    [Fact]
    public void ReduceLongRowsAndColumnsAccurately()
    {
        var x = RandIn(0f, 1f, 12, 3, 5000);
        var g = x.ToDevice(D);
        Close(x.Sum([1]), g.Sum([1]), rtol: 1e-6f);
        Close(x.Mean([1]), g.Mean([1]), rtol: 1e-6f);
        Close(x.Sum([0]), g.Sum([0]), rtol: 1e-6f);                // columns: inner = 5000
        var y = RandIn(0f, 1f, 13, 100, 3, 2);                     // short inner, long r: permuted to rows
        Close(y.Sum([0]), y.ToDevice(D).Sum([0]), rtol: 1e-6f);
        Close(x.Sum(), g.Sum(), rtol: 1e-6f);
    }

    [Fact]
    public void ReduceNaNAndEmpty()
    {
        var x = Tensor.FromArray([1f, float.NaN, 3f, -1f, 2f, 0.5f], 2, 3);
        var g = x.ToDevice(D);
        Close(x.Max([1]), g.Max([1]));
        Close(x.Min([1]), g.Min([1]));
        Close(x.Sum([1]), g.Sum([1]));
        var e = Tensor.Empty([3, 0], D);
        Close(Tensor.Empty(3, 0).Sum([1]), e.Sum([1]));
        Close(Tensor.Empty(3, 0).Mean([1]), e.Mean([1]));
        Assert.Throws<ArgumentException>(() => e.Max([1]));
    }

    [Fact]
    public void ArgMaxMatchesCpu()
    {
        var x = Rand(14, 3, 4, 5);
        var g = x.ToDevice(D);
        for (int d = 0; d < 3; d++)
            foreach (var keep in new[] { false, true })
                Close(x.ArgMax(d, keep), g.ArgMax(d, keep), what: $"dim {d}");
        var ties = Tensor.FromArray([1f, 3f, 3f, 2f, float.NaN, 5f, float.NaN, 0f], 2, 4);
        Close(ties.ArgMax(1), ties.ToDevice(D).ArgMax(1));
    }

    [Fact]
    public void SoftmaxMatchesCpu()
    {
        var x = RandIn(-4f, 4f, 15, 3, 7, 5);
        var dy = Rand(16, 3, 7, 5);
        var gx = x.ToDevice(D); var gdy = dy.ToDevice(D);
        for (int d = 0; d < 3; d++)
            foreach (var log in new[] { false, true })
            {
                var y = Backends.Cpu.SoftmaxForward(x, d, log);
                var gy = Backend.SoftmaxForward(gx, d, log);
                Close(y, gy, what: $"forward dim {d} log {log}");
                Close(Backends.Cpu.SoftmaxBackward(y, dy, d, log), Backend.SoftmaxBackward(gy, gdy, d, log), what: $"backward dim {d} log {log}");
            }
        var wide = RandIn(-4f, 4f, 17, 2, 300);                     // rows longer than a group
        Close(Backends.Cpu.SoftmaxForward(wide, 1, false), Backend.SoftmaxForward(wide.ToDevice(D), 1, false));
        var st = x.Transpose(1, 2);                                   // strided input
        Close(Backends.Cpu.SoftmaxForward(st, 2, true), Backend.SoftmaxForward(gx.Transpose(1, 2), 2, true));
    }

    public static TheoryData<int[], int[], bool, bool> MatmulCases() => new()
    {
        { [5, 7], [7, 3], false, false },
        { [32, 32], [32, 32], false, false },
        { [17, 9], [9, 20], true, false },             // transposed left operand
        { [6, 8], [8, 5], false, true },               // transposed right operand
        { [2, 3, 4, 6], [6, 5], false, false },        // batched left, shared right (a linear layer)
        { [3, 1, 4, 6], [2, 6, 5], true, true },       // broadcast batch dims both ways, both transposed
        { [1, 6], [6, 9], false, false },
        { [4, 1], [1, 3], false, false },              // k = 1
    };

    [Theory, MemberData(nameof(MatmulCases))]
    public void MatmulMatchesCpu(int[] sa, int[] sb, bool ta, bool tb)
    {
        Tensor Make(int seed, int[] s, bool t)
        {
            if (!t) return Rand(seed, s);
            var ts = (int[])s.Clone();
            (ts[^1], ts[^2]) = (ts[^2], ts[^1]);
            return Rand(seed, ts).Transpose(-1, -2);
        }
        var a = Make(21, sa, ta); var b = Make(22, sb, tb);
        var ga = ta ? a.Transpose(-1, -2).Contiguous().ToDevice(D).Transpose(-1, -2) : a.ToDevice(D);
        var gb = tb ? b.Transpose(-1, -2).Contiguous().ToDevice(D).Transpose(-1, -2) : b.ToDevice(D);
        Close(Tensor.Matmul(a, b), Tensor.Matmul(ga, gb));
    }

    [Fact]
    public void MatmulEmptyInner()
    {
        var c = Tensor.Matmul(Tensor.Empty([3, 0], D), Tensor.Empty([0, 2], D));
        Close(Tensor.Zeros(3, 2), c);
    }

    [Fact]
    public void ConcatAndRollMatchCpu()
    {
        var a = Rand(31, 2, 3, 4); var b = Rand(32, 2, 5, 4); var c = Rand(33, 2, 1, 4);
        Close(Tensor.Cat([a, b, c], 1), Tensor.Cat([a.ToDevice(D), b.ToDevice(D), c.ToDevice(D)], 1));
        Close(Tensor.Stack([a, a], 0), Tensor.Stack([a.ToDevice(D), a.ToDevice(D)], 0));
        Close(a.Roll([1, -2], [1, 2]), a.ToDevice(D).Roll([1, -2], [1, 2]));
        Close(a.Roll([0], [0]), a.ToDevice(D).Roll([0], [0]));
        var at = a.Transpose(0, 2);
        Close(at.Roll([3], [0]), a.ToDevice(D).Transpose(0, 2).Roll([3], [0]));
    }

    [Fact]
    public void IndexSelectAndIndexAddMatchCpu()
    {
        var x = Rand(41, 3, 5, 4);
        int[] idx = [4, 0, 4, 2];
        for (int d = 0; d < 3; d++)
        {
            var index = idx.Select(i => i % x.Shape[d]).ToArray();
            Close(x.IndexSelect(d, index), x.ToDevice(D).IndexSelect(d, index), what: $"select dim {d}");
            var srcShape = (int[])x.Shape.Clone(); srcShape[d] = index.Length;
            var src = Rand(42 + d, srcShape);
            var cpu = x.Clone(); Backends.Cpu.IndexAdd(cpu, d, index, src);
            var gpu = x.ToDevice(D); Backend.IndexAdd(gpu, d, index, src.ToDevice(D));
            Close(cpu, gpu, what: $"add dim {d}");
        }
        Assert.Throws<IndexOutOfRangeException>(() => x.ToDevice(D).IndexSelect(1, [5]));
    }

    [Fact]
    public void GatherAndScatterAddMatchCpu()
    {
        var x = Rand(51, 3, 5, 4);
        var r = new System.Random(52);
        for (int d = 0; d < 3; d++)
        {
            var ishape = (int[])x.Shape.Clone(); ishape[d] = 6;
            var index = Tensor.FromArray(Enumerable.Range(0, Tensor.NumelOf(ishape)).Select(_ => (float)r.Next(x.Shape[d])).ToArray(), ishape);
            Close(x.Gather(d, index), x.ToDevice(D).Gather(d, index.ToDevice(D)), what: $"gather dim {d}");
            var src = Rand(53 + d, ishape);
            Close(Backends.Cpu.ScatterAdd(x.Shape, d, index, src), Backend.ScatterAdd(x.Shape, d, index.ToDevice(D), src.ToDevice(D)), what: $"scatter dim {d}");
        }
    }
}
