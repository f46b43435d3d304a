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

    /// <summary>Where a rank's run log goes: rank 0 prints it; the others keep only their bad-sample reports
    /// (each rank loads its own shard), on stderr with the rank in front.</summary>
    public static TextWriter LogOf(DataParallel? dp) => dp is { IsRoot: false } ? new BadSamplesOnly(dp.Rank) : Console.Out;

    private sealed class BadSamplesOnly(int rank) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) { }
        public override void WriteLine(string? value)
        {
            if (value != null && value.StartsWith("bad ", StringComparison.Ordinal)) Console.Error.WriteLine($"rank {rank}: {value}");
        }
    }
}
