using System.Diagnostics;

namespace Sifa.Tests.Distributed;

/// <summary>What <c>sifa train</c> says when mpirun started it but the MPI library cannot be loaded (needs no MPI).</summary>
public sealed class MpiLaunchTests
{
    [SkippableFact]
    public void AMissingLibmpiUnderMpirunIsOneLine()
    {
        var root = TestPaths.RepoRoot;
        Skip.If(root == null, "the repository is not beside the tests");
        var tfm = new DirectoryInfo(AppContext.BaseDirectory);
        var dll = Path.Combine(root!, "Sifa.Cli", "bin", tfm.Parent!.Name, tfm.Name, "sifa.dll");
        Skip.If(!File.Exists(dll), "the sifa CLI is not built beside the tests");
        string outDir = Directory.CreateTempSubdirectory("sifa-nompi-").FullName;
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { dll, "train", "--train-size", "8", "--val-size", "4", "--epochs", "1", "--size", "16", "--frames", "4", "--batch", "4", "--out", outDir, "--overwrite" })
                psi.ArgumentList.Add(a);
            // What mpirun -np 2 sets, with the library pointed at a file that does not exist.
            psi.Environment["OMPI_COMM_WORLD_SIZE"] = "2";
            psi.Environment["OMPI_COMM_WORLD_RANK"] = "0";
            psi.Environment["SIFA_LIBMPI"] = "/nonexistent/libmpi.so.40";
            using var p = Process.Start(psi)!;
            var so = p.StandardOutput.ReadToEndAsync();
            string err = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(120_000));
            Assert.Equal(1, p.ExitCode);
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("sifa: running under mpirun but the Open MPI library /nonexistent/libmpi.so.40 could not be loaded", lines[0]);
            Assert.Contains("apt-get install openmpi-bin", lines[0]);
        }
        finally { Directory.Delete(outDir, true); }
    }
}
