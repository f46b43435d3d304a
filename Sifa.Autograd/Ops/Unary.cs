using Sifa.Tensors;
using Sifa.Tensors.Elementwise;

namespace Sifa.Autograd;

public static partial class Ops
{
    /// <summary>max(x, 0); backward passes g where the output is positive.</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Relu(Variable x)
    {
        var y = x.Data.Relu();
        return Variable.FromOp(y, "relu", new[] { x }, g => new[] { y.Zip(g, new ReluBackwardOp()) });
    }

    /// <summary>
    /// max(x, 0) written over x (PyTorch's <c>ReLU(inplace=True)</c>): the block's batch-norm output becomes the ReLU
    /// output without a second array. Backward as <see cref="Relu"/> (it needs only the output). <paramref name="x"/> must
    /// be a dense op result whose old value nothing reads afterwards (batch norm saves its input, not its output).
    /// </summary>
    /// <param name="x">Overwritten with the result.</param>
    /// <returns>The result (sharing x's storage).</returns>
    public static Variable ReluInPlace(Variable x)
    {
        CheckInPlace(x, "relu_");
        var y = x.Data.Backend.Map(x.Data, new ReluOp(), x.Data);
        return Variable.FromOp(y, "relu_", new[] { x }, g => new[] { y.Zip(g, new ReluBackwardOp()) });
    }

    /// <summary>Exact GELU 0.5·x·(1 + erf(x/√2)); backward g·(Φ(x) + x·φ(x)).</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Gelu(Variable x)
    {
        var xv = x.Data;
        return Variable.FromOp(xv.Gelu(), "gelu", new[] { x }, g => new[] { xv.Zip(g, new GeluBackwardOp()) });
    }

    /// <summary>Logistic sigmoid; backward g·y·(1-y).</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Sigmoid(Variable x)
    {
        var y = x.Data.Sigmoid();
        return Variable.FromOp(y, "sigmoid", new[] { x }, g => new[] { y.Zip(g, new SigmoidBackwardOp()) });
    }

    /// <summary>exp(x); backward g·y.</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Exp(Variable x)
    {
        var y = x.Data.Exp();
        return Variable.FromOp(y, "exp", new[] { x }, g => new[] { g * y });
    }

    /// <summary>ln(x); backward g/x.</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Log(Variable x)
    {
        var xv = x.Data;
        return Variable.FromOp(xv.Log(), "log", new[] { x }, g => new[] { g / xv });
    }

    /// <summary>x²; backward 2·g·x.</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Square(Variable x)
    {
        var xv = x.Data;
        return Variable.FromOp(xv.Square(), "square", new[] { x }, g => new[] { g * xv * 2f });
    }

    /// <summary>√x; backward g/(2·y).</summary>
    /// <param name="x">Input.</param>
    /// <returns>The result.</returns>
    public static Variable Sqrt(Variable x)
    {
        var y = x.Data.Sqrt();
        return Variable.FromOp(y, "sqrt", new[] { x }, g => new[] { g / (y * 2f) });
    }
}
