using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Sifa.Nn.Checkpoints.Pth;
using Sifa.Tensors.IO;
using Xunit.Abstractions;

namespace Sifa.Tests.Checkpoints;

/// <summary>
/// Seeded, deterministic mutation fuzzing of both checkpoint readers: bit flips, byte insertions and deletions,
/// truncations, integer-field overwrites, and format-aware mutations (safetensors header fields with the length
/// fixed up; .pth pickles mutated inside a re-zipped archive so CRCs still match). Every case must either load or
/// fail with <see cref="CheckpointFormatException"/>, allocate less than a fixed cap, and finish within 1 s.
/// <c>SIFA_FUZZ_CASES</c> sets the cases per reader (300 by default), <c>SIFA_FUZZ_SEED</c> the seed.
/// </summary>
public sealed partial class CheckpointFuzzTests(ITestOutputHelper output)
{
    private const long SafeTensorsAllocCap = 8L << 20;
    private const long PthAllocCap = 24L << 20; // the load budget allows 16 MiB + 64x a few KB
    private const int CaseMs = 1000;

    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("SIFA_FUZZ_CASES"), out var n) && n > 0 ? n : 300;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("SIFA_FUZZ_SEED"), out var s) ? s : 20240601;

    private static string DataDir => Path.Combine(TestPaths.RepoRoot ?? throw new DirectoryNotFoundException("Sifa.sln not found"),
        "Sifa.Tests", "Checkpoints", "data");

    // ================================================================== safetensors

    [Fact]
    public void SafeTensorsReaderSurvivesMutations()
    {
        var seeds = new List<byte[]>
        {
            File.ReadAllBytes(Path.Combine(DataDir, "values.expected.safetensors")),
            File.ReadAllBytes(Path.Combine(DataDir, "seq.expected.safetensors")),
            HostileFiles.SafeTensorsBytes(
                """{"h":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[12,16]},"u":{"dtype":"U8","shape":[4],"data_offsets":[16,20]},"z":{"dtype":"I32","shape":[0],"data_offsets":[20,20]},"q":{"dtype":"BOOL","shape":[],"data_offsets":[20,21]},"__metadata__":{"k":"v"}}""",
                [.. BitConverter.GetBytes(1.5), 0, 60, 0, 64, 128, 63, 0, 64, 1, 2, 3, 4, 1]),
        };
        foreach (var s in seeds) SafeTensors.Parse(s, "seed"); // every seed is valid
        var stats = Run("safetensors", seeds, SafeTensorsAllocCap, MutateSafeTensors, (bytes, name) => SafeTensors.Parse(bytes, name));
        output.WriteLine(stats);
    }

    private static byte[] MutateSafeTensors(byte[] seed, Random rng, List<string> log)
    {
        if (rng.Next(3) > 0) return MutateBytes(seed, rng, log);
        // Header-field mutation: edit the JSON text, then fix the length field so the edit is what gets judged.
        int hlen = (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
        string json = Encoding.UTF8.GetString(seed, 8, hlen);
        var data = seed.AsSpan(8 + hlen).ToArray();
        string mutated = rng.Next(5) switch
        {
            0 => ReplaceRandom(json, NumberToken(), InterestingDecimal(rng), rng, log),
            1 => ReplaceRandom(json, DTypeToken(), $"\"{Pick(rng, "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64", "F8_E4M3", "", "f32")}\"", rng, log),
            2 => DuplicateEntry(json, rng, log),
            3 => ReplaceRandom(json, ArrayToken(), Pick(rng, "[]", "[0]", "[1,2,3]", "[-1]", "[1.5]", "null", "{}", "\"x\""), rng, log),
            _ => ReplaceRandom(json, KeyToken(), Pick(rng, "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"\"", "\"x\""), rng, log),
        };
        var bytes = HostileFiles.SafeTensorsBytes(mutated, data);
        return rng.Next(4) == 0 ? MutateBytes(bytes, rng, log) : bytes;
    }

    private static string ReplaceRandom(string text, Regex token, string replacement, Random rng, List<string> log)
    {
        var ms = token.Matches(text);
        if (ms.Count == 0) return text;
        var m = ms[rng.Next(ms.Count)];
        log.Add($"header[{m.Index}] {m.Value} -> {replacement}");
        return text[..m.Index] + replacement + text[(m.Index + m.Length)..];
    }

    private static string DuplicateEntry(string json, Random rng, List<string> log)
    {
        var ms = EntryToken().Matches(json);
        if (ms.Count == 0) return json;
        var m = ms[rng.Next(ms.Count)];
        log.Add($"duplicate entry {m.Value[..Math.Min(20, m.Value.Length)]}");
        return json[..m.Index] + m.Value + "," + json[m.Index..];
    }

    [GeneratedRegex(@"-?\d+")]
    private static partial Regex NumberToken();

    [GeneratedRegex("\"(F|BF|I|U)\\d+\"|\"BOOL\"")]
    private static partial Regex DTypeToken();

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex ArrayToken();

    [GeneratedRegex("\"(dtype|shape|data_offsets|__metadata__)\"")]
    private static partial Regex KeyToken();

    [GeneratedRegex("\"[^\"]+\":\\{\"dtype\"[^}]*\\}")]
    private static partial Regex EntryToken();

    private static string InterestingDecimal(Random rng) => Pick(rng, "0", "1", "-1", "2", "7", "255", "65536", "2147483647", "2147483648",
        "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "100000000", "1e3", "3.0", rng.Next(1000).ToString(System.Globalization.CultureInfo.InvariantCulture));

    // ================================================================== .pth

    [Fact]
    public void PthReaderSurvivesMutations()
    {
        var seeds = new List<byte[]>();
        foreach (var f in new[] { "values_zip.pth", "values_legacy.pth", "seq_zip.pth", "seq_legacy.pth" })
            seeds.Add(File.ReadAllBytes(Path.Combine(DataDir, f)));
        // A deflated archive and a legacy file with a storage view, as the builders write them.
        var floats = Enumerable.Range(0, 24).SelectMany(i => BitConverter.GetBytes(i * 0.5f)).ToArray();
        seeds.Add(Checkpoint.Zip(CompressionLevel.Optimal,
            p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 24, 2, [2, 3], [3, 1])), ("e", () => p.Tensor("FloatStorage", "0", 24, 0, [4], [0]))),
            ("0", floats)));
        seeds.Add(Checkpoint.Legacy(
            p => p.OrderedDict(("v", () => p.Tensor("FloatStorage", "s", 24, 1, [3], [2], ("s", 4, 12)))), ("s", "FloatStorage", 24, floats)));
        foreach (var s in seeds) PthFile.Read(new MemoryStream(s), "seed"); // every seed is valid
        var stats = Run("pth", seeds, PthAllocCap, MutatePth, (bytes, name) => PthFile.LoadStateDict(new MemoryStream(bytes), name));
        output.WriteLine(stats);
    }

    private static byte[] MutatePth(byte[] seed, Random rng, List<string> log)
    {
        bool zip = seed.Length > 4 && seed[0] == (byte)'P' && seed[1] == (byte)'K';
        if (!zip || rng.Next(2) == 0)
        {
            // Raw bytes: deep for legacy files (no CRC); exercises the zip structure for archives.
            var b = rng.Next(3) == 0 ? MutatePickleOperands(seed, rng, log) : seed;
            return MutateBytes(b, rng, log);
        }
        // Inside the archive: mutate the pickle or a storage, then re-zip so the CRCs match and the reader goes deep.
        var entries = new List<(string Name, byte[] Data)>();
        using (var z = new ZipArchive(new MemoryStream(seed), ZipArchiveMode.Read))
            foreach (var e in z.Entries)
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms);
                entries.Add((e.FullName, ms.ToArray()));
            }
        int pkl = entries.FindIndex(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal));
        int target = rng.Next(3) > 0 ? pkl : rng.Next(entries.Count);
        log.Add($"entry {entries[target].Name}");
        var data = entries[target].Data;
        data = rng.Next(2) == 0 ? MutatePickleOperands(data, rng, log) : MutateBytes(data, rng, log);
        entries[target] = (entries[target].Name, data);
        var level = rng.Next(4) == 0 ? CompressionLevel.Optimal : CompressionLevel.NoCompression;
        var outMs = new MemoryStream();
        using (var z = new ZipArchive(outMs, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, d) in entries)
            {
                using var s = z.CreateEntry(name, level).Open();
                s.Write(d);
            }
        return outMs.ToArray();
    }

    /// <summary>Overwrites the operand of an integer or length opcode (BININT1/2, BININT, LONG1, BINUNICODE, ...).</summary>
    private static byte[] MutatePickleOperands(byte[] pickle, Random rng, List<string> log)
    {
        var b = (byte[])pickle.Clone();
        var sites = new List<int>();
        for (int i = 0; i + 1 < b.Length; i++)
            if (b[i] is (byte)'K' or (byte)'M' or (byte)'J' or 0x8a or (byte)'X' or (byte)'q' or (byte)'h' or (byte)'r' or (byte)'j' or (byte)'B') sites.Add(i);
        if (sites.Count == 0) return b;
        int at = sites[rng.Next(sites.Count)] + 1;
        int width = b[at - 1] switch { (byte)'K' or (byte)'q' or (byte)'h' => 1, (byte)'M' => 2, 0x8a => 1, _ => 4 };
        WriteInteresting(b, at, width, rng, log);
        return b;
    }

    // ================================================================== shared mutator

    private static byte[] MutateBytes(byte[] seed, Random rng, List<string> log)
    {
        var b = new List<byte>(seed);
        int n = 1 + rng.Next(3);
        for (int k = 0; k < n && b.Count > 0; k++)
        {
            int pos = rng.Next(b.Count);
            switch (rng.Next(7))
            {
                case 0:
                    b[pos] ^= (byte)(1 << rng.Next(8));
                    log.Add($"flip {pos}");
                    break;
                case 1:
                    b[pos] = (byte)(rng.Next(4) == 0 ? Pick(rng, 0, 0xff, 0x7f, 0x80) : rng.Next(256));
                    log.Add($"set {pos}");
                    break;
                case 2:
                {
                    int len = 1 + rng.Next(8);
                    var ins = new byte[len];
                    rng.NextBytes(ins);
                    b.InsertRange(pos, ins);
                    log.Add($"insert {len} at {pos}");
                    break;
                }
                case 3:
                {
                    int len = Math.Min(1 + rng.Next(8), b.Count - pos);
                    b.RemoveRange(pos, len);
                    log.Add($"delete {len} at {pos}");
                    break;
                }
                case 4:
                    b.RemoveRange(pos, b.Count - pos);
                    log.Add($"truncate to {pos}");
                    break;
                case 5:
                {
                    int len = Math.Min(1 + rng.Next(64), b.Count - pos);
                    b.InsertRange(rng.Next(b.Count), b.GetRange(pos, len));
                    log.Add($"duplicate {len} from {pos}");
                    break;
                }
                default:
                {
                    int width = Pick(rng, 1, 2, 4, 8);
                    if (pos + width > b.Count) break;
                    var arr = b.ToArray();
                    WriteInteresting(arr, pos, width, rng, log);
                    b = new List<byte>(arr);
                    break;
                }
            }
        }
        return b.ToArray();
    }

    private static void WriteInteresting(byte[] b, int at, int width, Random rng, List<string> log)
    {
        if (at + width > b.Length) return;
        ulong v = Pick(rng, 0UL, 1UL, 2UL, 0x7fUL, 0x80UL, 0xffUL, 0x7fffUL, 0xffffUL, 0x7fffffffUL, 0x80000000UL, 0xffffffffUL,
            1UL << 32, (1UL << 63) - 1, 1UL << 63, ulong.MaxValue, (ulong)rng.NextInt64());
        for (int i = 0; i < width; i++) b[at + i] = (byte)(v >> (8 * i));
        log.Add($"int{width * 8} {v:x} at {at}");
    }

    private static T Pick<T>(Random rng, params T[] items) => items[rng.Next(items.Length)];

    // ================================================================== runner

    private static string Run(string reader, List<byte[]> seeds, long allocCap, Func<byte[], Random, List<string>, byte[]> mutate,
        Action<byte[], string> read)
    {
        var rng = new Random(Seed + reader.Length);
        int loaded = 0, refused = 0;
        long maxAlloc = 0, maxMs = 0;
        for (int c = 0; c < Cases; c++)
        {
            var log = new List<string>();
            int seedIndex = rng.Next(seeds.Count);
            var input = mutate(seeds[seedIndex], rng, log);
            string name = $"fuzz-{reader}-{c}";
            var task = Task.Run(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                Exception? error = null;
                try { read(input, name); }
                catch (Exception e) { error = e; }
                return (Error: error, Ms: sw.ElapsedMilliseconds, Alloc: GC.GetAllocatedBytesForCurrentThread() - before);
            });
            string Where() => $"{reader} case {c} (seed {seedIndex}, {string.Join("; ", log)}), input {input.Length} bytes" +
                              (input.Length <= 8192 ? $": {Convert.ToBase64String(input)}" : "");
            Assert.True(task.Wait(10 * CaseMs), $"{Where()}: did not finish within {10 * CaseMs} ms");
            var (error, ms, alloc) = task.Result;
            if (error is CheckpointFormatException f)
            {
                refused++;
                Assert.Contains(name, f.Message);
            }
            else if (error is not null) Assert.Fail($"{Where()}: escaped as {error.GetType().Name}: {error}");
            else loaded++;
            Assert.True(alloc <= allocCap, $"{Where()}: allocated {alloc} bytes (cap {allocCap})");
            Assert.True(ms <= CaseMs, $"{Where()}: took {ms} ms");
            maxAlloc = Math.Max(maxAlloc, alloc);
            maxMs = Math.Max(maxMs, ms);
        }
        return $"{reader}: {Cases} mutations (seed {Seed}): {loaded} loaded, {refused} refused with CheckpointFormatException, " +
               $"no other exception; max allocation {maxAlloc} bytes, max time {maxMs} ms";
    }
}
