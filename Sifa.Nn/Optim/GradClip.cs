using Sifa.Autograd;
using Sifa.Tensors;

namespace Sifa.Nn.Optim;

/// <summary>Gradient clipping (PyTorch's <c>torch.nn.utils.clip_grad_norm_</c>).</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients so that their global L2 norm is at most <paramref name="maxNorm"/> (by
    /// <c>maxNorm / (norm + 1e-6)</c>). The norm is one backend reduction per device, accumulated in double, and one
    /// number read back.
    /// </summary>
    /// <returns>The norm before clipping.</returns>
    public static double ClipGradNorm(IEnumerable<Variable> parameters, double maxNorm)
    {
        var withGrad = parameters.Where(p => p.Grad != null).ToList();
        foreach (var p in withGrad)
            if (!p.Grad!.IsContiguous) p.Grad = p.Grad.Contiguous(); // the backend ops take dense tensors
        var byDevice = withGrad.Select(p => p.Grad!).GroupBy(g => g.Device).Select(d => d.ToList()).ToList();
        double sq = 0;
        foreach (var grads in byDevice) sq += grads[0].Backend.SumOfSquares(grads);
        double norm = Math.Sqrt(sq);
        if (norm > maxNorm)
        {
            float s = (float)(maxNorm / (norm + 1e-6));
            foreach (var grads in byDevice) grads[0].Backend.ScaleInPlace(grads, s);
        }
        return norm;
    }
}
