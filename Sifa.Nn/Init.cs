using Sifa.Tensors;

namespace Sifa.Nn;

/// <summary>
/// Parameter initialisers (PyTorch's <c>nn.init</c>), in place on a tensor of any device. Values are drawn on the
/// host in row-major order from the given generator, so a seed gives the same values everywhere.
/// </summary>
public static class Init
{
    /// <summary>PyTorch's fan-in and fan-out of a weight: <c>fan_in = size(1)·rf</c>, <c>fan_out = size(0)·rf</c>
    /// where <c>rf</c> is the product of the dims after the first two (1 for a linear weight).</summary>
    /// <param name="shape">The weight's shape (rank ≥ 2).</param>
    /// <returns>Fan-in and fan-out.</returns>
    public static (int FanIn, int FanOut) Fans(int[] shape)
    {
        if (shape.Length < 2) throw new ArgumentException($"fan in/out needs a tensor of rank ≥ 2, got shape {Tensor.Fmt(shape)}");
        int rf = 1;
        for (int i = 2; i < shape.Length; i++) rf *= shape[i];
        return (shape[1] * rf, shape[0] * rf);
    }

    /// <summary>Fills with zeros.</summary>
    /// <param name="t">The tensor.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Zeros(Tensor t) => t.Fill_(0f);

    /// <summary>Fills with ones.</summary>
    /// <param name="t">The tensor.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Ones(Tensor t) => t.Fill_(1f);

    /// <summary>Fills with one value.</summary>
    /// <param name="t">The tensor.</param>
    /// <param name="value">The value.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Constant(Tensor t, float value) => t.Fill_(value);

    /// <summary>Uniform values in [low, high).</summary>
    /// <param name="t">The tensor.</param>
    /// <param name="gen">The generator.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Uniform(Tensor t, Generator gen, float low, float high) => t.CopyFrom(Tensor.Rand(gen, t.Shape, low, high));

    /// <summary>Normal values N(mean, std²).</summary>
    /// <param name="t">The tensor.</param>
    /// <param name="gen">The generator.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="mean">Mean.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Normal(Tensor t, Generator gen, float std, float mean = 0f) => t.CopyFrom(Tensor.RandN(gen, t.Shape, mean, std));

    /// <summary>Truncated normal (timm's <c>trunc_normal_</c>: N(mean, std²) redrawn outside [a, b]); Swin's default std 0.02.</summary>
    /// <param name="t">The tensor.</param>
    /// <param name="gen">The generator.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="a">Lower cut.</param>
    /// <param name="b">Upper cut.</param>
    /// <returns>The tensor.</returns>
    public static Tensor TruncNormal(Tensor t, Generator gen, float std = 0.02f, float mean = 0f, float a = -2f, float b = 2f) =>
        t.CopyFrom(Tensor.TruncNormal(gen, t.Shape, std, mean, a, b));

    /// <summary>Kaiming (He) normal in fan-out mode for ReLU, as torchvision's ResNet initialises convolutions:
    /// N(0, 2 / fan_out) with <c>fan_out = out_channels·kh·kw</c>.</summary>
    /// <param name="w">The weight (rank ≥ 2).</param>
    /// <param name="gen">The generator.</param>
    /// <returns>The tensor.</returns>
    public static Tensor KaimingNormalFanOut(Tensor w, Generator gen)
    {
        var (_, fanOut) = Fans(w.Shape);
        return Normal(w, gen, (float)Math.Sqrt(2.0 / fanOut));
    }

    /// <summary>Kaiming uniform in fan-in mode with leaky-ReLU slope <paramref name="a"/>:
    /// U(-bound, bound), <c>bound = sqrt(6 / ((1 + a²)·fan_in))</c>. The default <c>a = √5</c> is PyTorch's default
    /// initialisation of conv and linear weights (bound = 1/√fan_in).</summary>
    /// <param name="w">The weight (rank ≥ 2).</param>
    /// <param name="gen">The generator.</param>
    /// <param name="a">Negative slope of the rectifier.</param>
    /// <returns>The tensor.</returns>
    public static Tensor KaimingUniform(Tensor w, Generator gen, double a = 2.2360679774997896964)
    {
        var (fanIn, _) = Fans(w.Shape);
        double gain = Math.Sqrt(2.0 / (1 + a * a));
        float bound = (float)(Math.Sqrt(3.0) * gain / Math.Sqrt(fanIn));
        return Uniform(w, gen, -bound, bound);
    }

    /// <summary>PyTorch's default bias initialisation of conv and linear layers: U(-1/√fan_in, 1/√fan_in).</summary>
    /// <param name="bias">The bias.</param>
    /// <param name="fanIn">The fan-in of the layer's weight.</param>
    /// <param name="gen">The generator.</param>
    /// <returns>The tensor.</returns>
    public static Tensor BiasUniform(Tensor bias, int fanIn, Generator gen)
    {
        float bound = fanIn > 0 ? (float)(1.0 / Math.Sqrt(fanIn)) : 0f;
        return Uniform(bias, gen, -bound, bound);
    }
}
