namespace Sifa.Distributed;

/// <summary>The collectives of a job of one rank: every operation returns its input. Needs no MPI library.</summary>
public sealed class SingleProcess : ICollective
{
    private sealed class Done : IPendingCollective
    {
        public static readonly Done Instance = new();
        public bool Test() => true;
        public void Wait() { }
    }

    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int Size => 1;

    /// <inheritdoc />
    public string Name => "single process";

    /// <inheritdoc />
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <inheritdoc />
    public string Context { get; set; } = "";

    /// <inheritdoc />
    public void AllReduceSum(Span<float> values, string what) { }

    /// <inheritdoc />
    public void AllReduceSum(Span<double> values, string what) { }

    /// <inheritdoc />
    public IPendingCollective StartAllReduceSum(float[] buffer, int offset, int count, string what) => Done.Instance;

    /// <inheritdoc />
    public IPendingCollective StartAllReduceSum(double[] buffer, string what) => Done.Instance;

    /// <inheritdoc />
    public void Broadcast(Span<float> values, int root, string what) { }

    /// <inheritdoc />
    public void Broadcast(Span<byte> values, int root, string what) { }

    /// <inheritdoc />
    public void Barrier(string what) { }

    /// <inheritdoc />
    public void Abort(string message) => throw new InvalidOperationException(message);

    /// <inheritdoc />
    public void Dispose() { }
}
