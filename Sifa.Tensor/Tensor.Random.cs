namespace Sifa.Tensors;

// Seeded random fills. Values are drawn on the host in row-major order, so a seed gives the same tensor on every device.
public sealed partial class Tensor
{
    /// <summary>Normal values N(mean, std²).</summary>
    /// <param name="gen">The generator.</param>
    /// <param name="shape">The shape.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation.</param>
    /// <returns>The tensor.</returns>
    public static Tensor RandN(Generator gen, int[] shape, float mean = 0f, float std = 1f)
    {
        var a = new float[NumelOf(shape)];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(mean + std * gen.NextNormal());
        return FromArray(a, shape);
    }

    /// <summary>Uniform values in [low, high).</summary>
    /// <param name="gen">The generator.</param>
    /// <param name="shape">The shape.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Rand(Generator gen, int[] shape, float low = 0f, float high = 1f)
    {
        var a = new float[NumelOf(shape)];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(low + (high - low) * gen.NextDouble());
        return FromArray(a, shape);
    }

    /// <summary>Normal values N(mean, std²) redrawn until inside [a, b] (timm's trunc_normal_, default ±2).</summary>
    /// <param name="gen">The generator.</param>
    /// <param name="shape">The shape.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="a">Lower cut.</param>
    /// <param name="b">Upper cut.</param>
    /// <returns>The tensor.</returns>
    public static Tensor TruncNormal(Generator gen, int[] shape, float std = 0.02f, float mean = 0f, float a = -2f, float b = 2f)
    {
        var v = new float[NumelOf(shape)];
        for (int i = 0; i < v.Length; i++)
        {
            double x;
            do x = mean + std * gen.NextNormal(); while (x < a || x > b);
            v[i] = (float)x;
        }
        return FromArray(v, shape);
    }
}
