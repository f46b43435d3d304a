using Sifa.Tensors;

namespace Sifa.Autograd;

/// <summary>
/// A node of the dynamic graph: a tensor value, its gradient, and (for results of differentiable ops)
/// the <see cref="Node"/> that produced it.
/// </summary>
public sealed partial class Variable
{
    /// <summary>Wraps a tensor as a leaf.</summary>
    /// <param name="data">The value.</param>
    /// <param name="requiresGrad">Whether backward accumulates a gradient into <see cref="Grad"/>.</param>
    /// <param name="name">Optional name used in error messages.</param>
    public Variable(Tensor data, bool requiresGrad = false, string? name = null)
    {
        Data = data;
        RequiresGrad = requiresGrad;
        Name = name;
    }

    /// <summary>The value. Optimizers update it in place; replacing it keeps the graph intact for later ops.</summary>
    public Tensor Data { get; set; }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward"/> (null before).</summary>
    public Tensor? Grad { get; set; }

    /// <summary>Whether gradients flow to this variable.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>Optional name (parameters use their state-dict key).</summary>
    public string? Name { get; set; }

    /// <summary>The op that produced this value (null for leaves).</summary>
    public Node? GradFn { get; internal set; }

    /// <summary>True for variables not produced by a differentiable op.</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>The shape of the value.</summary>
    public int[] Shape => Data.Shape;

    /// <summary>The rank of the value.</summary>
    public int Rank => Data.Rank;

    /// <summary>Size of a dimension.</summary>
    /// <param name="dim">The dimension (negative from the end).</param>
    /// <returns>Its size.</returns>
    public int Size(int dim) => Data.Size(dim);

    /// <summary>The same value, cut from the graph.</summary>
    /// <returns>A new leaf without gradient.</returns>
    public Variable Detach() => new(Data);

    /// <summary>Creates the result of a differentiable op. The node is recorded only when grad mode is on and some input requires grad.</summary>
    /// <param name="data">The op's output value.</param>
    /// <param name="op">The op's name (shown in errors and graph dumps).</param>
    /// <param name="inputs">The inputs, in the order the backward returns their gradients.</param>
    /// <param name="backward">Maps the output gradient to one gradient per input (null where none flows).
    /// Tensors it captures are the op's saved values; they are released after it ran.</param>
    /// <returns>The result variable.</returns>
    public static Variable FromOp(Tensor data, string op, Variable[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (OpProfiler.Enabled) OpProfiler.Forward(op);
        TensorScope.SafePoint(); // the op's kernels are done: dead temporaries may go back to the pool
        var v = new Variable(data);
        if (!GradMode.IsEnabled) return v;
        foreach (var i in inputs)
            if (i.RequiresGrad)
            {
                v.RequiresGrad = true;
                v.GradFn = new Node(op, inputs, backward);
                break;
            }
        return v;
    }

    /// <summary>Backpropagates from this variable. A non-scalar needs an explicit seed gradient.</summary>
    /// <param name="seed">d(loss)/d(this); defaults to 1 for a one-element value.</param>
    public void Backward(Tensor? seed = null) => Engine.Backward(this, seed);

    /// <inheritdoc/>
    public override string ToString() => $"Variable({Name ?? GradFn?.Op ?? "leaf"}, {Tensor.Fmt(Shape)}{(RequiresGrad ? ", requires_grad" : "")})";
}

/// <summary>
/// A recorded op: where its inputs came from and its backward rule. Like PyTorch's graph, a node refers to the nodes that
/// produced its inputs (and to leaf variables), not to intermediate values: an intermediate value stays alive only while
/// the caller or a backward rule (as a saved tensor) holds it.
/// </summary>
public sealed class Node
{
    internal Node(string op, Variable[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        Op = op;
        Next = new object?[inputs.Length];
        InputShapes = new int[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = inputs[i];
            InputShapes[i] = v.Shape;
            // A leaf is kept (its Grad is written); an op result is represented by the node that made it.
            Next[i] = v.GradFn != null ? (v.RequiresGrad ? v.GradFn : null) : v;
        }
        BackwardFn = backward;
    }

    /// <summary>The op's name.</summary>
    public string Op { get; }

    /// <summary>The number of inputs (gradients the backward rule returns).</summary>
    public int InputCount => Next.Length;

    // Per input: the producing Node, the leaf Variable, or null (an op result that does not require grad).
    internal object?[] Next { get; }

    // Per input: its shape (the gradient's expected shape).
    internal int[][] InputShapes { get; }

    /// <summary>The backward rule; null after it ran (its saved tensors are then released).</summary>
    internal Func<Tensor, Tensor?[]>? BackwardFn { get; set; }
}

/// <summary>Grad mode: whether differentiable ops record the graph (per thread).</summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Starts a scope in which no graph is recorded (inference). Dispose to end it.</summary>
    /// <returns>The scope.</returns>
    public static IDisposable NoGrad()
    {
        _disabledDepth++;
        return new Scope();
    }

    private sealed class Scope : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _disabledDepth--;
        }
    }
}

