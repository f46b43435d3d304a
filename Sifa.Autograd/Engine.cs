using Sifa.Tensors;

namespace Sifa.Autograd;

/// <summary>Reverse-mode differentiation over the recorded graph.</summary>
public static class Engine
{
    /// <summary>
    /// Runs every node reachable from <paramref name="root"/> once, in reverse topological order, summing the
    /// gradients of values used more than once; leaves that require grad accumulate into <see cref="Variable.Grad"/>.
    /// </summary>
    /// <param name="root">The output to differentiate.</param>
    /// <param name="seed">d(loss)/d(root); may be omitted only for one-element roots.</param>
    /// <param name="onGradReady">Called with each leaf as soon as its <see cref="Variable.Grad"/> is final for this pass
    /// (every contribution summed), while the rest of backward still runs: data-parallel training starts reducing a
    /// bucket of gradients there. Leaves the pass does not reach are not reported.</param>
    public static void Backward(Variable root, Tensor? seed = null, Action<Variable>? onGradReady = null)
    {
        if (seed == null)
        {
            if (root.Data.Numel != 1)
                throw new InvalidOperationException($"backward from a non-scalar of shape {Tensor.Fmt(root.Shape)} needs a seed gradient of that shape");
            seed = Tensor.Full(1f, root.Shape).ToDevice(root.Data.Device);
        }
        else if (!seed.Shape.AsSpan().SequenceEqual(root.Shape))
            throw new ArgumentException($"seed gradient shape {Tensor.Fmt(seed.Shape)} differs from the output's {Tensor.Fmt(root.Shape)}");
        if (!root.RequiresGrad) throw new InvalidOperationException("backward from a value that does not require grad (no input requires grad, or it was computed under NoGrad)");

        var order = TopoOrder(root.GradFn ?? (object)root);
        var grads = new Dictionary<object, Tensor>(ReferenceEqualityComparer.Instance) { [root.GradFn ?? (object)root] = seed };
        // Storages already owned by a leaf gradient (or the caller's seed): a pass-through gradient (add hands the same g
        // to both inputs) must not become two leaves' Grad, or an in-place update of one would change the other.
        var owned = new HashSet<Storage>(ReferenceEqualityComparer.Instance) { seed.Storage };
        // Storages of gradient sums allocated below: only the grads entry refers to them, so later terms add in place.
        var accumulators = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        var pool = new GradientBuffers(TensorScope.Current != null);
        pool.Hold(seed);
        using var _ = GradMode.NoGrad();
        foreach (var item in order)
        {
            TensorScope.SafePoint(); // between nodes no rule holds a raw array
            if (!grads.Remove(item, out var g)) continue;
            accumulators.Remove(g.Storage); // once handed on it may be shared (pass-through gradients)
            if (item is Variable v)
            {
                if (v.RequiresGrad)
                {
                    if (v.Grad != null) v.Grad = v.Grad + g;
                    else v.Grad = g.IsContiguous && owned.Add(g.Storage) ? g : g.Clone();
                }
                pool.Drop(g, owned);
                // A leaf appears once in the order, after every node that feeds it: its gradient is final here.
                if (v.RequiresGrad) onGradReady?.Invoke(v);
                continue;
            }
            var node = (Node)item;
            var fn = node.BackwardFn ?? throw new InvalidOperationException(
                $"backward through '{node.Op}' a second time: its saved values were released after the first backward");
            node.BackwardFn = null; // releases the saved tensors captured by the rule
            long t0 = OpProfiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            var ins = fn(g);
            for (int i = 0; i < node.Next.Length; i++)
            {
                var input = node.Next[i];
                var gi = i < ins.Length ? ins[i] : null;
                if (gi == null) continue;
                if (input == null || (input is Variable lv && !lv.RequiresGrad)) { pool.Consumed(gi); continue; }
                if (!gi.Shape.AsSpan().SequenceEqual(node.InputShapes[i]))
                    throw new InvalidOperationException($"backward of '{node.Op}' returned a gradient of shape {Tensor.Fmt(gi.Shape)} for input {i} of shape {Tensor.Fmt(node.InputShapes[i])}");
                if (!grads.TryGetValue(input, out var prev)) { grads[input] = gi; pool.Hold(gi); }
                else if ((accumulators.Contains(prev.Storage) || pool.OnlyHeldHere(prev, owned)) && prev.IsContiguous && prev.Offset == 0)
                {
                    prev.Backend.Zip(prev, gi, new Sifa.Tensors.Elementwise.AddOp(), prev); // nobody else sees prev: add in place
                    pool.Consumed(gi);
                }
                else
                {
                    var sum = prev + gi;
                    accumulators.Add(sum.Storage);
                    grads[input] = sum;
                    pool.Hold(sum);
                    pool.Drop(prev, owned, now: false);
                    pool.Consumed(gi);
                }
            }
            pool.Drop(g, owned, now: false);
            g = null!;
            pool.ReleaseConsumed(owned);
            if (OpProfiler.Enabled) OpProfiler.Backward(node.Op, t0);
        }
    }

    /// <summary>
    /// Inside a <see cref="TensorScope"/>, gives gradient buffers back to the pool as soon as backward has consumed
    /// them, so later nodes reuse them. A buffer goes back only when it was allocated during this backward pass
    /// (never a forward activation or a caller's tensor), no pending gradient refers to its storage (pass-through
    /// rules hand the same storage on) and no leaf owns it as its Grad.
    /// </summary>
    private sealed class GradientBuffers(bool enabled)
    {
        private readonly long _mark = TensorScope.Mark;
        private readonly Dictionary<Storage, int> _pending = new(ReferenceEqualityComparer.Instance);
        private readonly List<Tensor> _consumed = new();

        public void Hold(Tensor t)
        {
            if (enabled) _pending[t.Storage] = _pending.GetValueOrDefault(t.Storage) + 1;
        }

        public void Consumed(Tensor t)
        {
            if (enabled) _consumed.Add(t);
        }

        public void Drop(Tensor t, HashSet<Storage> owned, bool now = true)
        {
            if (!enabled) return;
            if (_pending.TryGetValue(t.Storage, out int n) && n > 1) { _pending[t.Storage] = n - 1; return; }
            _pending.Remove(t.Storage);
            _consumed.Add(t);
            if (now) ReleaseConsumed(owned);
        }

        /// <summary>
        /// Whether a pending gradient may take another term in place: allocated during this pass, its storage referred to
        /// by this one pending entry alone and by no leaf. The node that produced it has run, so nothing else reads it;
        /// the same test lets <see cref="ReleaseConsumed"/> hand such a buffer back.
        /// </summary>
        public bool OnlyHeldHere(Tensor t, HashSet<Storage> owned) =>
            enabled && _pending.TryGetValue(t.Storage, out int n) && n == 1 && TensorScope.IsPooledSince(t, _mark) && !owned.Contains(t.Storage);

        // Called once a node's outputs are all placed, so a storage is judged only after every reference was counted.
        public void ReleaseConsumed(HashSet<Storage> owned)
        {
            foreach (var t in _consumed)
                if (TensorScope.IsPooledSince(t, _mark) && !_pending.ContainsKey(t.Storage) && !owned.Contains(t.Storage))
                    TensorScope.Release(t);
            _consumed.Clear();
        }
    }

    // Reverse topological order (outputs first) by iterative depth-first search over nodes (leaves are terminal).
    private static List<object> TopoOrder(object root)
    {
        var post = new List<object>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(object v, int next)>();
        stack.Push((root, 0));
        seen.Add(root);
        while (stack.Count > 0)
        {
            var (v, next) = stack.Pop();
            var ins = (v as Node)?.Next;
            if (ins != null && next < ins.Length)
            {
                stack.Push((v, next + 1));
                var c = ins[next];
                if (c != null && seen.Add(c)) stack.Push((c, 0));
                continue;
            }
            post.Add(v);
        }
        post.Reverse();
        return post;
    }
}
