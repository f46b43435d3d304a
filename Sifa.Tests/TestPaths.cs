namespace Sifa.Tests;

/// <summary>Where the tests find the repository and the shared fixtures.</summary>
public static class TestPaths
{
    /// <summary>The folder holding Sifa.sln, found by walking up from the test binaries (null when not found).</summary>
    public static string? RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Sifa.sln"))) return d.FullName;
            return null;
        }
    }

    /// <summary>The PyTorch checkpoint fixtures: $SIFA_PTH_DIR, else ../shared/fixtures/pth beside the repository, else /work/shared/fixtures/pth.</summary>
    public static string PthFixtureDir
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("SIFA_PTH_DIR");
            if (!string.IsNullOrEmpty(env)) return env;
            var root = RepoRoot;
            if (root != null)
            {
                var p = Path.GetFullPath(Path.Combine(root, "..", "shared", "fixtures", "pth"));
                if (Directory.Exists(p)) return p;
            }
            return "/work/shared/fixtures/pth";
        }
    }
}
