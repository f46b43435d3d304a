namespace Sifa.Tests.TensorTests;

/// <summary>The SGEMM's run-time dispatch seen from a fresh process whose JIT was told to hide instruction sets.</summary>
public sealed class SgemmChildProcessTests
{
    /// <summary>
    /// With AVX-512 hidden from the JIT (<c>DOTNET_EnableAVX512=0</c>, and <c>DOTNET_EnableAVX512F=0</c> for runtimes
    /// before .NET 10), a fresh process detects and uses the AVX2 path (or scalar without AVX2) and it is still correct:
    /// <c>sifa bench gemm --check</c> in a child process.
    /// </summary>
    [Fact]
    public async Task ChildProcessWithoutAvx512TakesTheAvx2Path()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "sifa.dll");
        Assert.True(File.Exists(dll), $"{dll} missing (the tests reference Sifa.Cli)");
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "bench", "gemm", "--check" }) psi.ArgumentList.Add(arg);
        psi.Environment["DOTNET_EnableAVX512"] = "0";
        psi.Environment["DOTNET_EnableAVX512F"] = "0";
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(timeout.Token);
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, output);
        string expected = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? "avx2" : "scalar";
        Assert.Contains($"sgemm={expected} ", output);
        Assert.Contains("avx512f=0", output);
        Assert.Contains($"path={expected} ", output);
        Assert.Contains("check=ok", output);
    }
}
