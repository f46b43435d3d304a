using System.Globalization;
using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Tests.Golden;

/// <summary>Golden parity of module cases (window attention, patch merging, SIFA block): state from <c>param.*</c>/<c>buf.*</c>, then outputs and every input and parameter gradient.</summary>
public static class ModuleCases
{
    /// <summary>Runs a module-kind case.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="c">The case.</param>
    /// <returns>False when the kind is not handled here.</returns>
    public static bool TryRun(string kind, GoldenCase c)
    {
        var gen = new Generator(0);
        switch (kind)
        {
            case "window_attention":
            {
                var m = new WindowAttention(c.Int("dim", 0), c.Int("window", 0), c.Int("heads", 0), gen);
                Run(c, m, ins => m.Forward(ins["x"], ins.GetValueOrDefault("mask")));
                return true;
            }
            case "patch_merging":
            {
                var m = new PatchMerging(c.Int("H", 0), c.Int("W", 0), c.Int("dim", 0), gen);
                Run(c, m, ins => m.Forward(ins["x"]));
                return true;
            }
            case "sifa_block":
            {
                var opts = new SifaOptions(c.Int("k", 3), Offsets: Enum.Parse<OffsetSource>(c.Str("offsets", "msm"), ignoreCase: true),
                    LastFrame: Enum.Parse<LastFrame>(c.Str("last_frame", "self"), ignoreCase: true));
                var m = new SifaBlock(c.Int("channels", 0), opts, gen);
                Run(c, m, ins => m.Forward(ins["x"], c.Int("frames", 1)));
                return true;
            }
            default:
                return false;
        }
    }

    /// <summary>Loads <c>param.*</c> and <c>buf.*</c> into a module (strict: every key must match).</summary>
    /// <param name="c">The case.</param>
    /// <param name="m">The module.</param>
    public static void LoadState(GoldenCase c, Module m)
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var n in c.Names)
            if (n.StartsWith("param.", StringComparison.Ordinal)) state[n[6..]] = c.T(n);
            else if (n.StartsWith("buf.", StringComparison.Ordinal)) state[n[4..]] = c.T(n);
        m.LoadStateDict(state, strict: true, source: c.Name);
        m.To(c.Device);
    }

    /// <summary>The case's <c>in.*</c> tensors as variables (requiring grad when a gradient is stored).</summary>
    /// <param name="c">The case.</param>
    /// <returns>Inputs by name.</returns>
    public static Dictionary<string, Variable> Inputs(GoldenCase c) =>
        c.Names.Where(n => n.StartsWith("in.", StringComparison.Ordinal))
            .ToDictionary(n => n[3..], n => new Variable(c.T(n), requiresGrad: c.Has("grad." + n), name: n[3..]));

    private static void Run(GoldenCase c, Module m, Func<Dictionary<string, Variable>, Variable> forward)
    {
        LoadState(c, m);
        var ins = Inputs(c);
        var y = forward(ins);
        c.AssertClose("out.y", y.Data);
        y.Backward(c.T("dy.y"));
        foreach (var (k, v) in ins)
            if (c.Has("grad.in." + k)) c.AssertClose("grad.in." + k, v.Grad ?? Tensor.Zeros(v.Shape));
        var parms = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var n in c.Names.Where(n => n.StartsWith("grad.param.", StringComparison.Ordinal)))
        {
            var key = n["grad.param.".Length..];
            Assert.True(parms.ContainsKey(key), $"{c.Name}: the module has no parameter '{key}'");
            c.AssertClose(n, parms[key].Grad ?? Tensor.Zeros(parms[key].Shape));
        }
        Assert.Equal(parms.Count, c.Names.Count(n => n.StartsWith("grad.param.", StringComparison.Ordinal)));
    }
}

/// <summary>Golden parity of the SIFA op itself (<c>sifa_op</c> cases).</summary>
public static class SifaCases
{
    /// <summary>Runs a <c>sifa_op</c> case.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="c">The case.</param>
    /// <returns>False when the kind is not handled here.</returns>
    public static bool TryRun(string kind, GoldenCase c)
    {
        if (kind != "sifa_op") return false;
        var ins = ModuleCases.Inputs(c);
        var y = SifaOps.Sifa(ins["x"], ins["offsets"], c.Int("frames", 1), c.Int("k", 3), c.Int("dilation", 1), c.Int("groups", 1),
            Enum.Parse<LastFrame>(c.Str("last_frame", "self"), ignoreCase: true), Enum.Parse<SifaNormalize>(c.Str("normalize", "none"), ignoreCase: true));
        c.AssertClose("out.y", y.Data);
        y.Backward(c.T("dy.y"));
        c.AssertClose("grad.in.x", ins["x"].Grad);
        c.AssertClose("grad.in.offsets", ins["offsets"].Grad);
        return true;
    }
}
