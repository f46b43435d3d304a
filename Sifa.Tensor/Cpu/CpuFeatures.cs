using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sifa.Tensors.Cpu;

/// <summary>The instruction sets the CPU kernels may use on this machine.</summary>
public enum CpuIsa
{
    /// <summary>Portable scalar code (the reference every SIMD path is tested against).</summary>
    Scalar,

    /// <summary>256-bit AVX2 with FMA.</summary>
    Avx2,

    /// <summary>512-bit AVX-512 (F, with FMA on zmm registers).</summary>
    Avx512,
}

/// <summary>
/// What the machine offers the CPU kernels, detected once at start-up: the widest instruction set .NET will
/// JIT (<c>DOTNET_EnableAVX512F=0</c> hides AVX-512, <c>DOTNET_EnableAVX2=0</c> AVX2) and the cache sizes read from
/// <c>/sys/devices/system/cpu/cpu0/cache</c> (with fallbacks where that is missing), which size the SGEMM's blocks.
/// Benchmarks print <see cref="Describe"/> so every figure carries the path it measured.
/// </summary>
public static class CpuFeatures
{
    /// <summary>The widest instruction set both the CPU and the runtime support.</summary>
    public static CpuIsa Best { get; } =
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? CpuIsa.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? CpuIsa.Avx2
        : CpuIsa.Scalar;

    /// <summary>Level-1 data cache per core in bytes (32 KiB when unknown).</summary>
    public static int L1DataBytes { get; } = CacheBytes(1, "Data") ?? 32 << 10;

    /// <summary>Level-2 cache per core in bytes (512 KiB when unknown).</summary>
    public static int L2Bytes { get; } = CacheBytes(2, "Unified") ?? 512 << 10;

    /// <summary>Level-3 cache in bytes (0 when unknown).</summary>
    public static int L3Bytes { get; } = CacheBytes(3, "Unified") ?? 0;

    /// <summary>
    /// The SGEMM micro-kernel in use (default <see cref="Best"/>): a benchmark and test hook, so that two paths can be
    /// compared in one process. Setting it resets the GEMM blocks to that path's defaults; only a supported path may be
    /// set, and not while products run.
    /// </summary>
    public static CpuIsa SgemmPath
    {
        get => Sgemm.Isa;
        set => Sgemm.Isa = value;
    }

    /// <summary>Whether <paramref name="isa"/> can run here (a test may force any supported, narrower path).</summary>
    /// <param name="isa">The instruction set.</param>
    /// <returns>True when the CPU and the runtime support it.</returns>
    public static bool Supports(CpuIsa isa) => isa <= Best;

    /// <summary>
    /// One line naming the detected instruction sets, the caches, and the SGEMM path and blocks in use, e.g.
    /// <c>isa=avx512 (avx512f=1 bw=1 dq=1 vl=1 avx2=1 fma=1 vector512=1) l1d=32K l2=1024K l3=32768K sgemm=avx512 6x32 kc=192 mc=…</c>.
    /// </summary>
    /// <returns>The line.</returns>
    public static string Describe()
    {
        static int B(bool x) => x ? 1 : 0;
        var ci = CultureInfo.InvariantCulture;
        return string.Format(ci,
            "isa={0} (avx512f={1} bw={2} dq={3} vl={4} avx2={5} fma={6} vector512={7}) l1d={8}K l2={9}K l3={10}K sgemm={11}",
            Name(Best), B(Avx512F.IsSupported), B(Avx512BW.IsSupported), B(Avx512DQ.IsSupported), B(Avx512F.VL.IsSupported),
            B(Avx2.IsSupported), B(Fma.IsSupported),
            B(Vector512.IsHardwareAccelerated), L1DataBytes >> 10, L2Bytes >> 10, L3Bytes >> 10, Sgemm.Describe());
    }

    /// <summary>The lower-case name benches print for <paramref name="isa"/>.</summary>
    /// <param name="isa">The instruction set.</param>
    /// <returns>"scalar", "avx2" or "avx512".</returns>
    public static string Name(CpuIsa isa) => isa switch { CpuIsa.Avx512 => "avx512", CpuIsa.Avx2 => "avx2", _ => "scalar" };

    // Linux exposes each cache level of cpu0 as index*/{level,type,size}; size reads like "1024K".
    private static int? CacheBytes(int level, string type)
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return null;
            foreach (var dir in Directory.EnumerateDirectories(root, "index*"))
            {
                if (File.ReadAllText(Path.Combine(dir, "level")).Trim() != level.ToString(CultureInfo.InvariantCulture)) continue;
                if (File.ReadAllText(Path.Combine(dir, "type")).Trim() != type) continue;
                string s = File.ReadAllText(Path.Combine(dir, "size")).Trim();
                int scale = s.EndsWith('K') ? 1 << 10 : s.EndsWith('M') ? 1 << 20 : 1;
                if (int.TryParse(s.TrimEnd('K', 'M'), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0)
                    return (int)Math.Min(int.MaxValue, (long)v * scale);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
