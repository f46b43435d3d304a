namespace Sifa.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        args.Validate(param, grad, momentumBuffer);
        OptimKernels.Sgd(Span(param), Span(grad), momentumBuffer == null ? default : Span(momentumBuffer), args);
    }

    /// <inheritdoc/>
    public void AdamWStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, AdamWStepArgs args)
    {
        args.Validate(param, grad, expAvg, expAvgSq);
        OptimKernels.AdamW(Span(param), Span(grad), Span(expAvg), Span(expAvgSq), args);
    }

    /// <inheritdoc/>
    public double SumOfSquares(IReadOnlyList<Tensor> tensors)
    {
        OptimChecks.Dense("SumOfSquares", tensors, Device);
        double sum = 0;
        foreach (var t in tensors) sum += OptimKernels.SumOfSquares(Span(t));
        return sum;
    }

    /// <inheritdoc/>
    public void ScaleInPlace(IReadOnlyList<Tensor> tensors, float factor)
    {
        OptimChecks.Dense("ScaleInPlace", tensors, Device);
        foreach (var t in tensors) OptimKernels.Scale(Span(t), factor);
    }

    // The dense values of a contiguous tensor, as an array segment (the kernels split it into blocks).
    private static ArraySegment<float> Span(Tensor t) => new(Data(t), t.Offset, t.Numel);
}
