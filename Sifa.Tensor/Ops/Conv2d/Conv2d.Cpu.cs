namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry geometry)
    {
        geometry.Validate(x.Shape, weight.Shape, bias?.Shape);
        return Conv2dKernels.Forward(x, weight, bias, geometry);
    }

    /// <inheritdoc/>
    public (Tensor? Input, Tensor? Weight, Tensor? Bias) Conv2dBackward(Tensor dy, Tensor x, Tensor weight, Conv2dGeometry geometry,
        bool needInput, bool needWeight, bool needBias)
    {
        geometry.ValidateGradient(dy.Shape, x.Shape, weight.Shape);
        return Conv2dKernels.Backward(dy, x, weight, geometry, needInput, needWeight, needBias);
    }
}
