namespace Sifa.Distributed;

/// <summary>Finds out whether this process was started by <c>mpirun</c> (from the environment Open MPI sets).</summary>
public static class Launch
{
    /// <summary>The job's size from <c>OMPI_COMM_WORLD_SIZE</c>, 1 when not started by mpirun.</summary>
    public static int WorldSize =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE"), out int n) && n > 0 ? n : 1;

    /// <summary>This process's rank from <c>OMPI_COMM_WORLD_RANK</c>, 0 when not started by mpirun.</summary>
    public static int WorldRank =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK"), out int r) && r >= 0 ? r : 0;

    /// <summary>
    /// The collectives of this job: <see cref="MpiCollective"/> under <c>mpirun -np P</c> with P &gt; 1, else
    /// <see cref="SingleProcess"/> (no MPI library is loaded, nothing changes).
    /// </summary>
    /// <exception cref="MpiLibraryException">Under mpirun, libmpi.so.40 is missing (one line saying what to install).</exception>
    public static ICollective FromEnvironment() => WorldSize > 1 ? new MpiCollective() : new SingleProcess();
}
