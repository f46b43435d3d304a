using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Tests.Golden;

using Ops = Sifa.Autograd.Ops;
using Tensor = Sifa.Tensors.Tensor;

/// <summary>
/// Golden parity of the single ops (SPEC section 7): runs one golden case through the matching op, then checks
/// <c>out.*</c>, the gradients of the loss Σ out·dy (<c>grad.in.*</c>) and, for batch norm, the updated buffers and the
/// eval-mode output.
/// </summary>
public static class SingleOpCases
{
    /// <summary>The kinds <see cref="TryRun"/> handles.</summary>
    public static readonly IReadOnlyList<string> Kinds = new[]
    {
        "conv2d", "linear", "batchnorm2d", "layernorm", "gelu", "relu", "sigmoid", "softmax", "log_softmax",
        "maxpool2d", "cross_entropy", "roll",
    };

    /// <summary>Runs a golden case of a single-op kind, asserting every stored output and gradient.</summary>
    /// <param name="kind">The case's kind.</param>
    /// <param name="c">The case.</param>
    /// <returns>False when the kind is not a single op handled here (nothing was checked).</returns>
    public static bool TryRun(string kind, GoldenCase c)
    {
        switch (kind)
        {
            case "conv2d":
            {
                var ins = Inputs(c);
                var y = Ops.Conv2d(ins["x"], ins["weight"], ins.GetValueOrDefault("bias"),
                    c.Int("stride", 1), c.Int("padding", 0), c.Int("dilation", 1), c.Int("groups", 1));
                CheckOutputAndGrads(c, y, ins);
                return true;
            }
            case "linear":
            {
                var ins = Inputs(c);
                CheckOutputAndGrads(c, Ops.Linear(ins["x"], ins["weight"], ins.GetValueOrDefault("bias")), ins);
                return true;
            }
            case "batchnorm2d":
                BatchNorm(c);
                return true;
            case "layernorm":
            {
                var ins = Inputs(c);
                var y = Ops.LayerNorm(ins["x"], ins.GetValueOrDefault("weight"), ins.GetValueOrDefault("bias"), (float)c.Number("eps", 1e-5));
                CheckOutputAndGrads(c, y, ins);
                return true;
            }
            case "gelu": Unary(c, Ops.Gelu); return true;
            case "relu": Unary(c, Ops.Relu); return true;
            case "sigmoid": Unary(c, Ops.Sigmoid); return true;
            case "softmax": Unary(c, x => Ops.Softmax(x, c.Int("dim", -1))); return true;
            case "log_softmax": Unary(c, x => Ops.LogSoftmax(x, c.Int("dim", -1))); return true;
            case "maxpool2d":
            {
                int k = c.Int("kernel_size", 1);
                Unary(c, x => Ops.MaxPool2d(x, k, c.Int("stride", k), c.Int("padding", 0)));
                return true;
            }
            case "roll":
            {
                var shifts = c.IntList("shifts") ?? throw new InvalidDataException($"{c.Name}: config has no shifts");
                var dims = c.IntList("dims") ?? Enumerable.Range(0, shifts.Length).ToArray();
                Unary(c, x => Ops.Roll(x, shifts, dims));
                return true;
            }
            case "cross_entropy":
            {
                var ins = Inputs(c, skip: "target");
                var loss = Ops.CrossEntropy(ins["logits"], c.Ints("in.target"), (float)c.Number("label_smoothing", 0));
                CheckOutputAndGrads(c, loss, ins, "loss");
                return true;
            }
            default:
                return false;
        }
    }

    // Every float input in.NAME as a variable that requires grad when the file has grad.in.NAME.
    private static Dictionary<string, Variable> Inputs(GoldenCase c, string? skip = null)
    {
        var d = new Dictionary<string, Variable>();
        foreach (var name in c.Names)
        {
            if (!name.StartsWith("in.", StringComparison.Ordinal)) continue;
            var key = name[3..];
            if (key == skip) continue;
            d[key] = new Variable(c.T(name), requiresGrad: c.Has("grad.in." + key), name: key);
        }
        return d;
    }

    private static void Unary(GoldenCase c, Func<Variable, Variable> op)
    {
        var ins = Inputs(c);
        CheckOutputAndGrads(c, op(ins["x"]), ins);
    }

    // out.NAME, then backward with dy.NAME and every grad.in.*.
    private static void CheckOutputAndGrads(GoldenCase c, Variable y, Dictionary<string, Variable> ins, string output = "y")
    {
        c.AssertClose("out." + output, y.Data);
        if (!c.Has("dy." + output)) return;
        var dy = c.T("dy." + output);
        y.Backward(dy.Numel == 1 && y.Data.Rank != dy.Rank ? dy.Reshape(y.Shape) : dy);
        foreach (var (key, v) in ins)
            if (c.Has("grad.in." + key))
                c.AssertClose("grad.in." + key, v.Grad ?? Tensor.Zeros(v.Shape));
    }

    private static void BatchNorm(GoldenCase c)
    {
        var ins = Inputs(c);
        var rm = c.T("buf.running_mean");
        var rv = c.T("buf.running_var");
        float momentum = (float)c.Number("momentum", 0.1), eps = (float)c.Number("eps", 1e-5);
        bool training = c.Bool("training", true);
        var weight = ins.GetValueOrDefault("weight");
        var bias = ins.GetValueOrDefault("bias");
        var y = Ops.BatchNorm2d(ins["x"], weight, bias, rm, rv, training, momentum, eps);
        CheckOutputAndGrads(c, y, ins);
        if (c.Has("buf_after.running_mean")) c.AssertClose("buf_after.running_mean", rm);
        if (c.Has("buf_after.running_var")) c.AssertClose("buf_after.running_var", rv);
        if (c.Has("out.eval_y"))
        {
            using var _ = GradMode.NoGrad();
            var ye = Ops.BatchNorm2d(new Variable(c.T("in.x")), weight, bias, rm, rv, training: false, momentum, eps);
            c.AssertClose("out.eval_y", ye.Data);
        }
    }
}
