using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Sifa.Tensors.Gpu;

/// <summary>
/// Finds the CUDA driver and cuBLAS the way real machines ship them. ILGPU imports the driver as <c>cuda</c> (dlopen tries
/// <c>libcuda.so</c>, which only the CUDA toolkit's dev package provides; a driver-only machine has <c>libcuda.so.1</c>) and
/// cuBLAS as <c>libcublas.so.10/11/12</c> (a pip PyTorch install has only <c>site-packages/nvidia/cublas/lib/libcublas.so.13</c>).
/// </summary>
internal static partial class NativeLibraries
{
    private static int _installed;
    private static readonly Lazy<IntPtr> Cuda = new(LoadCuda);
    private static readonly Lazy<IntPtr> CuBlas = new(LoadCuBlas);

    /// <summary>Installs the import resolvers for ILGPU and ILGPU.Algorithms; call before the first ILGPU context exists.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1 || !OperatingSystem.IsLinux()) return;
        // On WSL ILGPU installs its own resolver for its assembly (a second one would throw); WSL's libcuda.so is found there.
        if (!IsWsl()) TrySet(typeof(ILGPU.Context).Assembly);
        TrySet(typeof(ILGPU.Runtime.Cuda.CuBlas).Assembly);
    }

    private static void TrySet(Assembly assembly)
    {
        try { NativeLibrary.SetDllImportResolver(assembly, Resolve); }
        catch (InvalidOperationException) { /* someone else already resolves this assembly's imports */ }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name is "cuda" or "libcuda" or "libcuda.so") return Cuda.Value;
        if (name.StartsWith("libcublas.so", StringComparison.Ordinal))
        {
            if (!NativeLibrary.TryLoad(name, out var h)) return CuBlas.Value;
            CuBlasSource ??= name;
            return h;
        }
        return IntPtr.Zero;
    }

    /// <summary>Where cuBLAS was loaded from (a soname the system loader found, or the path searched out); null before.</summary>
    public static string? CuBlasSource { get; private set; }

    /// <summary>The driver library handle, or zero when no driver is installed.</summary>
    public static IntPtr CudaDriver => OperatingSystem.IsLinux() ? Cuda.Value : NativeLibrary.TryLoad("nvcuda", out var h) ? h : IntPtr.Zero;

    private static IntPtr LoadCuda()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out var h)) return h;
        var path = FindLibrary("libcuda.so", SearchDirectories(Environment.GetEnvironmentVariable, DefaultDirectories()));
        return path != null && NativeLibrary.TryLoad(path, out h) ? h : IntPtr.Zero;
    }

    private static IntPtr LoadCuBlas()
    {
        var path = FindLibrary("libcublas.so", SearchDirectories(Environment.GetEnvironmentVariable, DefaultDirectories()));
        if (path == null) return IntPtr.Zero;
        // libcublas needs libcublasLt of the same release; load it from the same folder first so the soname is already resolved.
        var lt = Path.Combine(Path.GetDirectoryName(path)!, Path.GetFileName(path).Replace("libcublas", "libcublasLt"));
        if (File.Exists(lt)) NativeLibrary.TryLoad(lt, out _);
        if (!NativeLibrary.TryLoad(path, out var h)) return IntPtr.Zero;
        CuBlasSource = path;
        return h;
    }

    [GeneratedRegex(@"^\.so(\.\d+)*$")]
    private static partial Regex SoSuffix();

    /// <summary>
    /// The first folder (in order) holding <paramref name="stem"/> (e.g. <c>libcublas.so</c>) or a versioned <c>stem.N[.M…]</c>;
    /// within it the highest version. Null when none has it.
    /// </summary>
    public static string? FindLibrary(string stem, IEnumerable<string> directories)
    {
        var baseName = stem[..stem.IndexOf(".so", StringComparison.Ordinal)];
        foreach (var dir in directories)
        {
            if (!Directory.Exists(dir)) continue;
            string? best = null;
            Version? bestVersion = null;
            foreach (var file in Directory.EnumerateFiles(dir, stem + "*"))
            {
                var name = Path.GetFileName(file);
                var suffix = name[baseName.Length..];
                if (!SoSuffix().IsMatch(suffix)) continue;
                var parts = suffix.Length > 3 ? suffix[4..].Split('.') : [];
                var v = new Version(parts.Length > 0 ? int.Parse(parts[0]) : 0, parts.Length > 1 ? int.Parse(parts[1]) : 0);
                if (bestVersion == null || v > bestVersion) { best = file; bestVersion = v; }
            }
            if (best != null) return best;
        }
        return null;
    }

    /// <summary>
    /// Folders to search, in order: <c>LD_LIBRARY_PATH</c>, <c>CUDA_HOME</c>/<c>CUDA_PATH</c> (lib64, lib,
    /// targets/x86_64-linux/lib), the given system folders, then <c>nvidia/*/lib</c> of every Python site-packages folder
    /// found (VIRTUAL_ENV, CONDA_PREFIX, the user's ~/.local, the system's).
    /// </summary>
    public static IEnumerable<string> SearchDirectories(Func<string, string?> env, IEnumerable<string> systemDirectories)
    {
        foreach (var d in (env("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)) yield return d;
        foreach (var root in new[] { env("CUDA_HOME"), env("CUDA_PATH") })
        {
            if (string.IsNullOrEmpty(root)) continue;
            yield return Path.Combine(root, "lib64");
            yield return Path.Combine(root, "lib");
            yield return Path.Combine(root, "targets", "x86_64-linux", "lib");
        }
        foreach (var d in systemDirectories) yield return d;
        foreach (var sp in SitePackages(env))
        {
            var nvidia = Path.Combine(sp, "nvidia");
            if (!Directory.Exists(nvidia)) continue;
            foreach (var pkg in Directory.EnumerateDirectories(nvidia).Order(StringComparer.Ordinal))
                yield return Path.Combine(pkg, "lib");
        }
    }

    private static IEnumerable<string> SitePackages(Func<string, string?> env)
    {
        var prefixes = new List<string>();
        foreach (var v in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
            if (env(v) is { Length: > 0 } p) prefixes.Add(p);
        if (env("HOME") is { Length: > 0 } home) prefixes.Add(Path.Combine(home, ".local"));
        prefixes.AddRange(["/usr/local", "/usr", "/opt/conda"]);
        foreach (var prefix in prefixes)
        {
            var lib = Path.Combine(prefix, "lib");
            if (!Directory.Exists(lib)) continue;
            foreach (var py in Directory.EnumerateDirectories(lib, "python3*").Order(StringComparer.Ordinal))
            {
                yield return Path.Combine(py, "site-packages");
                yield return Path.Combine(py, "dist-packages");
            }
        }
    }

    private static IEnumerable<string> DefaultDirectories() =>
    [
        "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64", "/usr/lib", "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/wsl/lib",
    ];

    private static bool IsWsl()
    {
        try
        {
            return File.ReadAllText("/proc/version").Contains("microsoft", StringComparison.OrdinalIgnoreCase)
                && Directory.Exists("/usr/lib/wsl/lib");
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
