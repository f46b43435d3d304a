namespace Sifa.Distributed;

/// <summary>
/// Collective operations over the ranks of one training job, on host buffers. A GPU backend stages device
/// tensors through host spans (copy out, reduce, copy in); a device-side collective (NCCL) can implement this
/// interface later. Every rank must issue the same collectives in the same order; each wait has a deadline
/// (<see cref="Timeout"/>) after which the job is aborted with a message naming <see cref="Context"/>.
/// </summary>
public interface ICollective : IDisposable
{
    /// <summary>This process's rank, 0 ≤ rank &lt; <see cref="Size"/>.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int Size { get; }

    /// <summary>What carries the collectives (for logs), e.g. "single process" or "Open MPI 4.1.4".</summary>
    string Name { get; }

    /// <summary>How long one collective may wait for the other ranks before the job is aborted.</summary>
    TimeSpan Timeout { get; set; }

    /// <summary>Where the job is (e.g. "epoch 2 step 17"), named in a timeout message.</summary>
    string Context { get; set; }

    /// <summary>Sums <paramref name="values"/> over all ranks, in place (every rank gets the sum).</summary>
    void AllReduceSum(Span<float> values, string what);

    /// <summary>Sums <paramref name="values"/> over all ranks, in place.</summary>
    void AllReduceSum(Span<double> values, string what);

    /// <summary>Starts summing <paramref name="count"/> values of <paramref name="buffer"/> from <paramref name="offset"/>
    /// over all ranks, in place; the buffer must not be touched until the returned operation completed.</summary>
    IPendingCollective StartAllReduceSum(float[] buffer, int offset, int count, string what);

    /// <summary>Starts summing <paramref name="buffer"/> over all ranks, in place.</summary>
    IPendingCollective StartAllReduceSum(double[] buffer, string what);

    /// <summary>Copies <paramref name="values"/> of rank <paramref name="root"/> to every rank.</summary>
    void Broadcast(Span<float> values, int root, string what);

    /// <summary>Copies <paramref name="values"/> of rank <paramref name="root"/> to every rank.</summary>
    void Broadcast(Span<byte> values, int root, string what);

    /// <summary>Returns once every rank has reached it.</summary>
    void Barrier(string what);

    /// <summary>Prints <paramref name="message"/> and ends every rank of the job (never returns under MPI).</summary>
    void Abort(string message);
}

/// <summary>A collective in flight.</summary>
public interface IPendingCollective
{
    /// <summary>Whether it completed (lets the transport make progress; never blocks).</summary>
    bool Test();

    /// <summary>Waits until it completed, at most <see cref="ICollective.Timeout"/> (then the job is aborted).</summary>
    void Wait();
}
