namespace Sifa.Autograd;

/// <summary>
/// Counts multiply-adds of the forward ops executed inside a <see cref="Scope"/> (what papers call FLOPs).
/// Ops with matrix products (linear, matmul, conv, SIFA) report their own counts; element-wise work is ignored.
/// </summary>
public static class FlopCounter
{
    private static readonly AsyncLocal<Counter?> Current = new();

    /// <summary>Starts counting on this logical thread; dispose the result to stop.</summary>
    /// <returns>The counter.</returns>
    public static Counter Scope()
    {
        var c = new Counter(Current.Value);
        Current.Value = c;
        return c;
    }

    /// <summary>Adds multiply-adds to the active counter, if any.</summary>
    /// <param name="macs">Count.</param>
    public static void Add(long macs)
    {
        var c = Current.Value;
        if (c != null) Interlocked.Add(ref c.MacsField, macs);
    }

    /// <summary>An active count.</summary>
    public sealed class Counter : IDisposable
    {
        private readonly Counter? _outer;
        internal long MacsField;
        internal Counter(Counter? outer) => _outer = outer;

        /// <summary>Multiply-adds counted so far.</summary>
        public long Macs => Interlocked.Read(ref MacsField);

        /// <inheritdoc/>
        public void Dispose() => Current.Value = _outer;
    }
}
