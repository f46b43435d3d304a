using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>Global-norm gradient clipping.</summary>
public static class GradientClipping
{
    /// <summary>Scales all gradients so that their global L2 norm is at most <paramref name="maxNorm"/>.</summary>
    /// <returns>The norm before clipping.</returns>
    public static double ClipGradNorm(IEnumerable<Variable> parameters, double maxNorm)
    {
        var grads = parameters.Where(p => p.Grad != null).Select(p => p.Grad!).ToList();
        double sq = 0;
        foreach (var g in grads) foreach (var v in g.ToArray()) sq += (double)v * v;
        double norm = Math.Sqrt(sq);
        if (norm > maxNorm)
        {
            float s = (float)(maxNorm / (norm + 1e-6));
            foreach (var g in grads)
            {
                var a = g.ToArray();
                for (int i = 0; i < a.Length; i++) a[i] *= s;
                g.CopyFrom(Tensor.FromArray(a, g.Shape));
            }
        }
        return norm;
    }
}
