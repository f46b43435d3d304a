namespace Sifa.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// Runs a <see cref="CustomOp"/>'s kernel for this device over dense inputs and preallocated dense outputs, all on
    /// this device (<see cref="CustomOp.Run"/> prepares them).
    /// </summary>
    void RunCustom(CustomOp op, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor> outputs);
}
