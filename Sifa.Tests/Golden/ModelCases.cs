using System.Globalization;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;

namespace Sifa.Tests.Golden;

/// <summary>
/// Golden parity of whole models (<c>kind = model</c>): logits, label-smoothed loss, every parameter gradient,
/// eval logits after the BN update, buffers after the call, and parameters after two optimizer steps.
/// Tolerance per tensor: max|a-b| ≤ 2e-3 · max|b| (SPEC section 7).
/// </summary>
public static class ModelCases
{
    /// <summary>Runs a model case.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="c">The case.</param>
    /// <returns>False when the kind is not <c>model</c>.</returns>
    public static bool TryRun(string kind, GoldenCase c)
    {
        if (kind != "model") return false;
        var model = Build(c);
        ModuleCases.LoadState(c, model);
        var clip = c.T("in.clip");
        var target = c.Ints("in.target");
        float smoothing = (float)c.Number("label_smoothing", 0);

        model.Train();
        var logits = model.Forward(new Variable(clip));
        var loss = Ops.CrossEntropy(logits, target, smoothing);
        AssertModelClose(c, "out.logits", logits.Data);
        AssertModelClose(c, "out.loss", loss.Data);
        loss.Backward();
        var parms = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var n in c.Names.Where(n => n.StartsWith("grad.param.", StringComparison.Ordinal)))
        {
            var key = n["grad.param.".Length..];
            Assert.True(parms.ContainsKey(key), $"{c.Name}: model has no parameter '{key}'");
            AssertModelClose(c, n, parms[key].Grad ?? Tensor.Zeros(parms[key].Shape));
        }
        Assert.Equal(parms.Count, c.Names.Count(n => n.StartsWith("grad.param.", StringComparison.Ordinal)));

        if (c.Has("out.eval_logits"))
        {
            model.Eval();
            using (GradMode.NoGrad()) AssertModelClose(c, "out.eval_logits", model.Forward(new Variable(clip)).Data);
            var bufs = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer.Tensor);
            foreach (var n in c.Names.Where(n => n.StartsWith("buf_after.", StringComparison.Ordinal)))
                AssertModelClose(c, n, bufs[n["buf_after.".Length..]]);
        }

        // Two optimizer steps from the initial state, a fresh forward/backward per step, training mode.
        ModuleCases.LoadState(c, model);
        model.Train();
        foreach (var p in model.Parameters()) p.Grad = null;
        Optimizer opt;
        double[] lrs;
        var cfg = c.Settings;
        if (cfg.Section("sgd") is { } sgd)
        {
            lrs = sgd.Numbers("lrs");
            opt = new SGD(model.Parameters(), lrs[0], momentum: sgd.Number("momentum"), weightDecay: sgd.Number("weight_decay"));
        }
        else
        {
            var aw = cfg.Section("adamw") ?? throw new InvalidDataException($"{c.Name}: config has neither 'sgd' nor 'adamw'");
            lrs = aw.Numbers("lrs");
            var betas = aw.Numbers("betas");
            opt = new AdamW(model.Parameters(), lrs[0], betas[0], betas[1], aw.Number("eps"), aw.Number("weight_decay"));
        }
        foreach (var lr in lrs)
        {
            opt.SetLr(lr);
            opt.ZeroGrad();
            Ops.CrossEntropy(model.Forward(new Variable(clip)), target, smoothing).Backward();
            opt.Step();
        }
        foreach (var n in c.Names.Where(n => n.StartsWith("step2.param.", StringComparison.Ordinal)))
            AssertModelClose(c, n, parms[n["step2.param.".Length..]].Data);
        return true;
    }

    private static VideoModel Build(GoldenCase c)
    {
        try
        {
            return ModelConfigJson.Build(c.Config);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{c.Name}: {e.Message}", e);
        }
    }

    /// <summary>Asserts max|a-b| ≤ 2e-3 · max|b| for one tensor.</summary>
    /// <param name="c">The case.</param>
    /// <param name="name">Expected tensor name.</param>
    /// <param name="actual">Computed value.</param>
    public static void AssertModelClose(GoldenCase c, string name, Tensor actual)
    {
        var b = c.T(name).ToArray();
        var a = actual.ToArray();
        Assert.True(a.Length == b.Length, $"{c.Name}: {name} has {a.Length} values, expected {b.Length}");
        double maxB = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            maxB = Math.Max(maxB, Math.Abs(b[i]));
            double e = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(e)) e = double.PositiveInfinity;
            if (e > maxErr) { maxErr = e; worst = i; }
        }
        Assert.True(maxErr <= 2e-3 * maxB + 1e-12, string.Create(CultureInfo.InvariantCulture,
            $"{c.Name}: {name} max|a-b| = {maxErr:G4} > 2e-3·max|b| = {2e-3 * maxB:G4} (at {worst}: got {a[worst]:G7}, expected {b[worst]:G7})"));
    }
}
