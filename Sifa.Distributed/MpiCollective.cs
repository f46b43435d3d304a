using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Sifa.Distributed;

/// <summary>
/// Collectives over MPI_COMM_WORLD of Open MPI, bound by P/Invoke (<see cref="MpiNative"/>). Every operation is
/// non-blocking underneath (MPI_Iallreduce, MPI_Ibcast, MPI_Ibarrier) and waited for by polling MPI_Test against
/// a deadline, so a rank that died or hangs makes the others abort with a message instead of waiting forever.
/// Calls come from one thread at a time (MPI_THREAD_SERIALIZED).
/// </summary>
public sealed unsafe class MpiCollective : ICollective
{
    private readonly MpiNative _mpi;
    private bool _finalized;

    /// <summary>Loads libmpi and initialises MPI (call once per process, under mpirun).</summary>
    /// <exception cref="MpiLibraryException">libmpi.so.40 is not installed (the message says what to install).</exception>
    public MpiCollective()
    {
        _mpi = MpiNative.Load();
        int provided = 0, init = 0;
        Check(_mpi.Initialized(&init), "MPI_Initialized");
        if (init == 0) Check(_mpi.InitThread(null, 0, MpiNative.ThreadSerialized, &provided), "MPI_Init_thread");
        Check(_mpi.CommSetErrhandler(_mpi.CommWorld, _mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
        int r = 0, s = 0;
        Check(_mpi.CommRank(_mpi.CommWorld, &r), "MPI_Comm_rank");
        Check(_mpi.CommSize(_mpi.CommWorld, &s), "MPI_Comm_size");
        Rank = r; Size = s;
        Name = _mpi.Version();
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <inheritdoc />
    public string Context { get; set; } = "";

    private void Check(int rc, string call)
    {
        if (rc != 0) throw new CollectiveException($"rank {Rank}: {call} failed: {_mpi.Error(rc)}");
    }

    private sealed class Pending : IPendingCollective
    {
        private readonly MpiCollective _c;
        private readonly string _what;
        private GCHandle _pin;
        private IntPtr _request;
        private bool _done;

        public Pending(MpiCollective c, object? pinned, string what, Func<IntPtr, IntPtr> start)
        {
            _c = c; _what = what;
            if (pinned != null) _pin = GCHandle.Alloc(pinned, GCHandleType.Pinned);
            IntPtr req = 0;
            try { req = start(pinned != null ? _pin.AddrOfPinnedObject() : 0); }
            catch { if (_pin.IsAllocated) _pin.Free(); throw; }
            _request = req;
        }

        public bool Test()
        {
            if (_done) return true;
            int flag = 0;
            IntPtr req = _request;
            int rc = _c._mpi.Test(&req, &flag, 0);
            _request = req;
            if (rc != 0) { Release(); _c.Check(rc, $"MPI_Test ({_what})"); }
            if (flag != 0) Release();
            return _done;
        }

        private void Release()
        {
            _done = true;
            if (_pin.IsAllocated) _pin.Free();
        }

        public void Wait()
        {
            if (Test()) return;
            var sw = Stopwatch.StartNew();
            for (int spin = 0; !Test(); spin++)
            {
                if (sw.Elapsed > _c.Timeout)
                    _c.Abort($"rank {_c.Rank}: {_what} got no answer from the other ranks within {_c.Timeout.TotalSeconds:F0} s" +
                        (_c.Context.Length > 0 ? $" at {_c.Context}" : "") + ": a rank died or hangs; aborting the job (--dist-timeout sets the limit)");
                if (spin < 200) Thread.SpinWait(64);
                else if (spin < 2000) Thread.Yield();
                else Thread.Sleep(1);
            }
        }
    }

    // Starts an in-place sum over all ranks of n values of MPI type `type` at addr; returns the request.
    private IntPtr IallreduceSum(IntPtr addr, int n, IntPtr type, string what)
    {
        IntPtr req = 0;
        Check(_mpi.Iallreduce(MpiNative.InPlace, addr, n, type, _mpi.OpSum, _mpi.CommWorld, &req), $"MPI_Iallreduce ({what})");
        return req;
    }

    /// <inheritdoc />
    public IPendingCollective StartAllReduceSum(float[] buffer, int offset, int count, string what)
    {
        if ((uint)offset > (uint)buffer.Length || (uint)count > (uint)(buffer.Length - offset)) throw new ArgumentOutOfRangeException(nameof(count));
        return new Pending(this, buffer, what, addr => IallreduceSum(addr + offset * sizeof(float), count, _mpi.Float, what));
    }

    /// <inheritdoc />
    public IPendingCollective StartAllReduceSum(double[] buffer, string what) =>
        new Pending(this, buffer, what, addr => IallreduceSum(addr, buffer.Length, _mpi.Double, what));

    /// <inheritdoc />
    public void AllReduceSum(Span<float> values, string what)
    {
        fixed (float* p = values)
        {
            var addr = (IntPtr)p; int n = values.Length;
            new Pending(this, null, what, _ => IallreduceSum(addr, n, _mpi.Float, what)).Wait();
        }
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<double> values, string what)
    {
        fixed (double* p = values)
        {
            var addr = (IntPtr)p; int n = values.Length;
            new Pending(this, null, what, _ => IallreduceSum(addr, n, _mpi.Double, what)).Wait();
        }
    }

    /// <inheritdoc />
    public void Broadcast(Span<float> values, int root, string what) => Broadcast(MemoryMarshal.AsBytes(values), root, what);

    /// <inheritdoc />
    public void Broadcast(Span<byte> values, int root, string what)
    {
        // MPI counts are ints: broadcast in chunks of at most 1 GiB.
        const int Chunk = 1 << 30;
        fixed (byte* p = values)
        {
            for (long at = 0; at < values.Length; at += Chunk)
            {
                var addr = (IntPtr)(p + at); int n = (int)Math.Min(Chunk, values.Length - at);
                new Pending(this, null, what, _ =>
                {
                    IntPtr req = 0;
                    Check(_mpi.Ibcast(addr, n, _mpi.Byte, root, _mpi.CommWorld, &req), $"MPI_Ibcast ({what})");
                    return req;
                }).Wait();
            }
        }
    }

    /// <inheritdoc />
    public void Barrier(string what) =>
        new Pending(this, null, what, _ =>
        {
            IntPtr req = 0;
            Check(_mpi.Ibarrier(_mpi.CommWorld, &req), $"MPI_Ibarrier ({what})");
            return req;
        }).Wait();

    /// <inheritdoc />
    public void Abort(string message)
    {
        Console.Out.Flush();
        Console.Error.WriteLine("sifa: " + message);
        Console.Error.Flush();
        _mpi.Abort(_mpi.CommWorld, 1);
        Environment.Exit(1); // MPI_Abort does not return; in case it does
    }

    /// <summary>Ends MPI (after every rank finished its collectives). Not called on a failure: mpirun then ends
    /// the other ranks when this one exits.</summary>
    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        int fin = 0;
        if (_mpi.Finalized(&fin) == 0 && fin == 0) _mpi.Finalize();
    }
}

/// <summary>A collective operation failed (the message names the MPI call and its error string).</summary>
public sealed class CollectiveException : Sifa.Tensors.SifaException
{
    /// <summary>Creates the exception.</summary>
    public CollectiveException(string message) : base(message) { }
}
