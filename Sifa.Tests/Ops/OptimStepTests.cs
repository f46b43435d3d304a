using Sifa.Autograd;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Tests.OpTests;

/// <summary>
/// The fused optimizer ops on every device against naive scalar references that repeat the float operations the
/// optimizers have always done (so results must match bit for bit), over several steps with every option. The sizes
/// cover several parallel blocks, the SIMD body and the scalar tail.
/// </summary>
public class OptimStepTests
{
    private static readonly int[][] Shapes = { new[] { 3, 3001 }, new[] { 7 }, new[] { 4, 5, 6 } };

    // The pre-fusion SGD, element by element in float (hyper-parameters rounded from double once).
    private static void RefSgd(float[] p, float[] g, ref float[]? buf, double lr, double mu, double damp, double wd, bool nesterov)
    {
        float flr = (float)lr, fwd = (float)wd, fmu = (float)mu, omd = (float)(1 - damp);
        bool first = buf == null;
        if (fmu != 0f) buf ??= new float[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            float d = fwd != 0f ? p[i] * fwd + g[i] : g[i];
            if (fmu != 0f)
            {
                buf![i] = first ? d : buf[i] * fmu + d * omd;
                d = nesterov ? buf[i] * fmu + d : buf[i];
            }
            p[i] = d * -flr + p[i];
        }
    }

    private static void RefAdamW(float[] p, float[] g, float[] m, float[] v, long t, double lr, double b1, double b2, double eps, double wd)
    {
        double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
        float decay = (float)(1 - lr * wd), fb1 = (float)b1, fb2 = (float)b2, feps = (float)eps, omb1 = (float)(1 - b1), omb2 = (float)(1 - b2);
        float stepSize = (float)(lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2);
        for (int i = 0; i < p.Length; i++)
        {
            if (wd != 0) p[i] *= decay;
            m[i] = g[i] * omb1 + m[i] * fb1;
            float gg = g[i] * g[i];
            v[i] = gg * omb2 + v[i] * fb2;
            float denom = MathF.Sqrt(v[i]) / bc2Sqrt + feps;
            p[i] = m[i] / denom * -stepSize + p[i];
        }
    }

    private static (Variable[] Params, float[][] Init, float[][][] Grads) Problem(Device device, ulong seed, int steps)
    {
        var gen = new Generator(seed);
        var init = Shapes.Select(s => Tensor.RandN(gen, s).ToArray()).ToArray();
        var ps = init.Select((a, k) => new Variable(Tensor.FromArray((float[])a.Clone(), Shapes[k]).ToDevice(device), true, $"p{k}")).ToArray();
        var grads = Enumerable.Range(0, steps).Select(_ => Shapes.Select(s => Tensor.RandN(gen, s).ToArray()).ToArray()).ToArray();
        return (ps, init, grads);
    }

    private static void SetGrads(Variable[] ps, float[][] step, Device device)
    {
        for (int k = 0; k < ps.Length; k++) ps[k].Grad = Tensor.FromArray((float[])step[k].Clone(), Shapes[k]).ToDevice(device);
    }

    public static TheoryData<string, double, double, double, bool> SgdCases()
    {
        var data = new TheoryData<string, double, double, double, bool>();
        foreach (var d in TestDevices.Available())
            foreach (var (mu, damp, wd, nesterov) in new[] { (0.0, 0.0, 0.0, false), (0.0, 0.0, 1e-2, false), (0.9, 0.0, 0.0, false), (0.9, 0.3, 1e-4, false), (0.9, 0.0, 5e-2, true) })
                data.Add(d.ToString(), mu, damp, wd, nesterov);
        return data;
    }

    [Theory, MemberData(nameof(SgdCases))]
    public void SgdMatchesScalarReferenceBitForBit(string deviceName, double mu, double damp, double wd, bool nesterov)
    {
        var device = TestDevices.Of(deviceName);
        var (ps, init, grads) = Problem(device, 21, 4);
        var opt = new SGD(ps, lr: 0.05, momentum: mu, dampening: damp, weightDecay: wd, nesterov: nesterov);
        var refP = init.Select(a => (float[])a.Clone()).ToArray();
        var refBuf = new float[]?[ps.Length];
        foreach (var step in grads)
        {
            SetGrads(ps, step, device);
            opt.Step();
            for (int k = 0; k < ps.Length; k++) RefSgd(refP[k], step[k], ref refBuf[k], 0.05, mu, damp, wd, nesterov);
        }
        for (int k = 0; k < ps.Length; k++)
        {
            Assert.Equal(refP[k], ps[k].Data.ToArray());
            if (mu == 0) Assert.Null(opt.MomentumBuffer(k));
            else
            {
                Assert.Equal(device, opt.MomentumBuffer(k)!.Device);
                Assert.Equal(refBuf[k], opt.MomentumBuffer(k)!.ToArray());
            }
        }
    }

    public static TheoryData<string, double> AdamWCases()
    {
        var data = new TheoryData<string, double>();
        foreach (var d in TestDevices.Available())
            foreach (var wd in new[] { 0.0, 0.05 })
                data.Add(d.ToString(), wd);
        return data;
    }

    [Theory, MemberData(nameof(AdamWCases))]
    public void AdamWMatchesScalarReferenceBitForBit(string deviceName, double wd)
    {
        var device = TestDevices.Of(deviceName);
        var (ps, init, grads) = Problem(device, 22, 4);
        var opt = new AdamW(ps, lr: 3e-3, beta1: 0.85, beta2: 0.99, eps: 1e-6, weightDecay: wd);
        var refP = init.Select(a => (float[])a.Clone()).ToArray();
        var m = init.Select(a => new float[a.Length]).ToArray();
        var v = init.Select(a => new float[a.Length]).ToArray();
        for (int t = 1; t <= grads.Length; t++)
        {
            SetGrads(ps, grads[t - 1], device);
            opt.Step();
            for (int k = 0; k < ps.Length; k++) RefAdamW(refP[k], grads[t - 1][k], m[k], v[k], t, 3e-3, 0.85, 0.99, 1e-6, wd);
        }
        for (int k = 0; k < ps.Length; k++)
        {
            Assert.Equal(refP[k], ps[k].Data.ToArray());
            Assert.Equal(device, opt.ExpAvg(k)!.Device);
            Assert.Equal(m[k], opt.ExpAvg(k)!.ToArray());
            Assert.Equal(v[k], opt.ExpAvgSq(k)!.ToArray());
            Assert.Equal(grads.Length, opt.ParamStep(k));
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void ClipGradNormMatchesHostReference(string deviceName)
    {
        var device = TestDevices.Of(deviceName);
        var (ps, _, grads) = Problem(device, 23, 1);
        double sq = 0;
        foreach (var g in grads[0]) foreach (var x in g) sq += (double)x * x;
        double norm = Math.Sqrt(sq);

        SetGrads(ps, grads[0], device);
        Assert.Equal(norm, GradClip.ClipGradNorm(ps, 2 * norm), 1e-12 * norm);
        for (int k = 0; k < ps.Length; k++) Assert.Equal(grads[0][k], ps[k].Grad!.ToArray()); // under the limit: untouched

        double max = norm / 3;
        float s = (float)(max / (norm + 1e-6));
        Assert.Equal(norm, GradClip.ClipGradNorm(ps, max), 1e-12 * norm);
        for (int k = 0; k < ps.Length; k++) Assert.Equal(grads[0][k].Select(x => x * s).ToArray(), ps[k].Grad!.ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void StridedParameterIsUpdatedThroughADenseCopy(string deviceName)
    {
        var device = TestDevices.Of(deviceName);
        var values = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3).ToDevice(device);
        var p = new Variable(values.Transpose(0, 1), true); // (3, 2), not contiguous
        var opt = new SGD(new[] { p }, lr: 0.5, momentum: 0.9);
        p.Grad = Tensor.Ones(3, 2).ToDevice(device);
        opt.Step();
        Assert.Equal(new[] { 0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f }, values.ToArray());
    }

    [Fact]
    public void BackendOpsCheckTheirTensorsOnce()
    {
        var p = Tensor.Zeros(4);
        var be = p.Backend;
        var args = SgdStepArgs.Create(0.1, 0.9, 0, 0, false, true);
        Assert.Throws<ArgumentException>(() => be.SgdStep(p, Tensor.Zeros(5), Tensor.Zeros(4), args));
        Assert.Throws<ArgumentException>(() => be.SgdStep(p, Tensor.Zeros(4), null, args)); // momentum needs a buffer
        Assert.Throws<ArgumentException>(() => be.SgdStep(Tensor.Zeros(2, 2).Transpose(0, 1), Tensor.Zeros(2, 2), Tensor.Zeros(2, 2), args));
        var a = AdamWStepArgs.Create(1e-3, 0.9, 0.999, 1e-8, 0, 1);
        Assert.Throws<ArgumentException>(() => be.AdamWStep(p, Tensor.Zeros(4), Tensor.Zeros(3), Tensor.Zeros(4), a));
    }
}
