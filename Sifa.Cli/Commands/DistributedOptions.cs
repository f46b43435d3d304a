using System.CommandLine;
using Sifa.Distributed;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>
/// The data-parallel options of <c>train</c>. Under <c>mpirun -np P</c> (P &gt; 1) the command trains one model on P
/// processes over Open MPI (<see cref="DataParallel"/>); otherwise nothing changes and no MPI library is loaded.
/// </summary>
internal sealed class DistributedOptions
{
    public readonly Option<bool> SyncBn = new("--sync-bn") { Description = "Under mpirun: batch-norm statistics over all ranks (default: per rank)" };
    public readonly Option<double> Timeout = new("--dist-timeout")
    {
        DefaultValueFactory = _ => 300, Description = "Under mpirun: seconds a collective waits for the other ranks before the job is aborted",
    };

    public void AddTo(Command c)
    {
        c.Add(SyncBn);
        c.Add(Timeout);
    }

    /// <summary>The data-parallel setting of this process, or null when it runs alone (no mpirun, or -np 1).</summary>
    public DataParallel? Create(ParseResult pr)
    {
        double t = pr.GetValue(Timeout);
        if (!(t > 0) || !double.IsFinite(t)) throw new ArgumentException($"--dist-timeout must be a number of seconds > 0, got {t}");
        if (Launch.WorldSize <= 1) return null;
        var c = Launch.FromEnvironment();
        c.Timeout = TimeSpan.FromSeconds(t);
        return new DataParallel(c, pr.GetValue(SyncBn));
    }
}
