namespace Sifa.Tests.Golden;

/// <summary>Where the golden files live.</summary>
public static class GoldenFolder
{
    /// <summary>The fallback location of the shared golden files.</summary>
    public const string Fallback = "/work/shared/golden";

    /// <summary>
    /// <c>$SIFA_GOLDEN_DIR</c> when set; else <c>&lt;repo root&gt;/../shared/golden</c> where the repo root is the first folder
    /// above <see cref="AppContext.BaseDirectory"/> holding <c>Sifa.sln</c> (when that folder exists); else <see cref="Fallback"/>.
    /// </summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        var env = Environment.GetEnvironmentVariable("SIFA_GOLDEN_DIR");
        if (!string.IsNullOrWhiteSpace(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(System.IO.Path.Combine(dir.FullName, "Sifa.sln"))) continue;
            var candidate = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "golden"));
            if (Directory.Exists(candidate)) return candidate;
            break;
        }
        return Fallback;
    }

    /// <summary>Every golden file of the folder, sorted by name (empty when the folder is missing).</summary>
    /// <returns>Full paths.</returns>
    public static string[] Files() => Directory.Exists(Path)
        ? Directory.GetFiles(Path, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal).ToArray()
        : Array.Empty<string>();
}
