using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Sifa.Tensors.Cpu;

/// <summary>
/// A few dedicated threads for <see cref="Sgemm"/>'s parallel path. After a product they spin for a short
/// while before sleeping, so back-to-back products start on all cores at once instead of waiting for a
/// thread-pool worker to be woken (and, on a busy machine, to be scheduled again). Work is always claimed
/// dynamically by the bodies, so the caller never waits for a worker that has not started: it closes the
/// job once its own body returns and waits only for workers already inside it.
/// </summary>
internal static class GemmWorkers
{
    /// <summary>How long an idle worker spins for the next job before it sleeps.</summary>
    internal static TimeSpan SpinTime = TimeSpan.FromMilliseconds(1);

    private const int Closed = 1 << 30;
    private static int _busy;         // 1 while a job runs
    private static Worker[] _workers = [];
    private static Action<int>? _body;
    private static Exception? _error;   // first exception thrown on a worker, rethrown by the caller
    private static int _generation;   // bumped for every job
    private static int _state;        // Closed bit | number of workers inside the current job

    /// <summary>Runs <paramref name="body"/>(i) on the caller (i = 0) and up to <paramref name="parts"/> − 1 workers.</summary>
    /// <param name="parts">Threads to use, caller included.</param>
    /// <param name="body">Must claim its work dynamically and tolerate running on fewer threads.</param>
    public static void Run(int parts, Action<int> body)
    {
        // One job at a time (not re-entrant): a concurrent or nested caller just runs alone.
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            body(0);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            _body = body;
            _error = null;
            Volatile.Write(ref _state, 0);
            Interlocked.Increment(ref _generation);
            for (int i = 0; i < parts - 1; i++) _workers[i].Wake();
            try
            {
                body(0);
            }
            finally
            {
                // Close the job (late workers skip it) and wait for the workers already inside.
                int s;
                while (((s = Volatile.Read(ref _state)) & Closed) == 0 && Interlocked.CompareExchange(ref _state, s | Closed, s) != s) { }
                var spin = new SpinWait();
                while ((Volatile.Read(ref _state) & ~Closed) != 0) spin.SpinOnce(sleep1Threshold: -1);
                _body = null;
            }
            if (_error is { } error) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (_workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(_workers, grown, _workers.Length);
        for (int i = _workers.Length; i < count; i++) grown[i] = new Worker(i + 1);
        _workers = grown;
    }

    private sealed class Worker
    {
        private readonly int _index;
        private readonly SemaphoreSlim _wake = new(0);
        private int _sleeping;
        private int _seen;

        public Worker(int index)
        {
            _index = index;
            _seen = Volatile.Read(ref _generation);
            new Thread(Loop) { IsBackground = true, Name = $"sifa-gemm-{index}" }.Start();
        }

        public void Wake()
        {
            if (Volatile.Read(ref _sleeping) != 0 && Interlocked.Exchange(ref _sleeping, 0) != 0) _wake.Release();
        }

        private void Loop()
        {
            while (true)
            {
                long spinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
                long spinUntil = Stopwatch.GetTimestamp() + spinTicks;
                var spin = new SpinWait();
                while (Volatile.Read(ref _generation) == _seen)
                {
                    if (Stopwatch.GetTimestamp() >= spinUntil)
                    {
                        // Announce sleep with a full fence, then re-check, so a job published in between is not missed.
                        Interlocked.Exchange(ref _sleeping, 1);
                        if (Volatile.Read(ref _generation) == _seen) _wake.Wait();
                        Volatile.Write(ref _sleeping, 0);
                        spinUntil = Stopwatch.GetTimestamp() + spinTicks;
                        continue;
                    }
                    spin.SpinOnce(sleep1Threshold: -1);
                }
                _seen = Volatile.Read(ref _generation);
                TryRun();
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void TryRun()
        {
            // Enter the job unless the caller has closed it already.
            int s;
            do
            {
                s = Volatile.Read(ref _state);
                if ((s & Closed) != 0) return;
            }
            while (Interlocked.CompareExchange(ref _state, s + 1, s) != s);
            try
            {
                _body?.Invoke(_index);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            finally
            {
                Interlocked.Decrement(ref _state);
            }
        }
    }
}
