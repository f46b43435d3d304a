using System.Diagnostics;
using System.IO.Compression;
using Sifa.Nn.Checkpoints.Pth;
using Sifa.Tensors.IO;
using static Sifa.Tests.Checkpoints.HostileFiles;

namespace Sifa.Tests.Checkpoints;

/// <summary>
/// The <c>.pth</c> reader against resource-exhaustion files: expanded tensors, deflate bombs, pickles that build
/// millions of objects, colliding dict keys, key blow-ups and special files. Each is refused quickly with a
/// <see cref="CheckpointFormatException"/>, or read with bounded work.
/// </summary>
public sealed class PthHostileTests
{
    private static CheckpointFormatException Refused(byte[] file, string name, long maxAllocated = 32L << 20) =>
        AssertRefused(() => PthFile.Read(new MemoryStream(file), name), name, maxAllocated);

    private static byte[] Expanded(long size, long stride = 0) =>
        Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 1, 0, [size], [stride]))), ("0", BitConverter.GetBytes(3f)));

    [Fact]
    public void StrideZeroTensorExpandedTo2Pow30IsRefused()
    {
        // torch.zeros(1).expand(2**30): 765 bytes that used to peak at 8.4 GB and die with ArgumentOutOfRangeException.
        var e = Refused(Expanded(1L << 30), "expand30.pth");
        Assert.Contains("tensor of size [1073741824]", e.Message);
        // 2^24 elements (64 MiB of float32 from a 1-element storage) passed before and is over the budget now.
        Refused(Expanded(1L << 24), "expand24.pth");
    }

    [Fact]
    public void SmallExpandedTensorsStillLoad()
    {
        var sd = PthFile.LoadStateDict(new MemoryStream(Expanded(1000)), "expand1000.pth");
        Assert.Equal(new[] { 1000 }, sd["w"].Shape);
        Assert.All(sd["w"].Tensor.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void ConvertReportsTheRefusalInsteadOfCrashing()
    {
        var dir = Directory.CreateTempSubdirectory("sifa-pth-");
        try
        {
            var input = Path.Combine(dir.FullName, "expand.pth");
            File.WriteAllBytes(input, Expanded(1L << 30));
            var output = Path.Combine(dir.FullName, "out.safetensors");
            var log = new StringWriter();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(1, PthConverter.Convert(input, output, log));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 32L << 20);
            Assert.Contains("error: " + input, log.ToString());
            Assert.False(File.Exists(output));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void DeflatedStorageBombIsRefusedBeforeInflating()
    {
        // 64 MiB of zero floats deflate to ~64 KiB: the load may not expand the file ~1000x (the 1 MB file
        // converted with a 3.2 GB peak).
        const int numel = 1 << 24;
        var bomb = Checkpoint.Zip(CompressionLevel.Optimal,
            p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", numel, 0, [numel], [1]))), ("0", new byte[numel * 4L]));
        Assert.True(bomb.Length < 1 << 20);
        var e = Refused(bomb, "deflated.pth");
        Assert.Contains("storage '0'", e.Message);
    }

    [Fact]
    public void DeflatedStoragesOfReasonableSizeStillLoad()
    {
        var values = Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i)).ToArray();
        var bytes = values.SelectMany(BitConverter.GetBytes).ToArray();
        var file = Checkpoint.Zip(CompressionLevel.Optimal,
            p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 1000, 0, [10, 100], [100, 1]))), ("0", bytes));
        Assert.Equal(values, PthFile.LoadStateDict(new MemoryStream(file), "deflated_ok.pth")["w"].Tensor.ToArray());
    }

    [Fact]
    public void DeflatedPickleOfEmptyDictsIsRefusedFast()
    {
        // The 48 KB file: 5e7 EMPTY_DICT opcodes, deflated; it took 4.8 GB and 16 s before its error.
        var pickle = new byte[50_000_002];
        pickle[0] = 0x80;
        pickle[1] = 2;
        pickle.AsSpan(2).Fill((byte)'}');
        pickle[^1] = (byte)'.';
        var file = Checkpoint.ZipPickle(CompressionLevel.SmallestSize, pickle);
        Assert.True(file.Length < 100_000, $"{file.Length}");
        Refused(file, "dicts_deflated.pth");
    }

    [Fact]
    public void StoredPickleOfEmptyDictsIsBoundedByTheBudget()
    {
        // Uncompressed, 2 MB of EMPTY_DICT: each byte builds a ~100-byte object, so the load is stopped by the
        // allocation budget (64 x file + 16 MiB) instead of allocating 2M dicts and then failing at STOP.
        var pickle = new byte[2_000_002];
        pickle[0] = 0x80;
        pickle[1] = 2;
        pickle.AsSpan(2).Fill((byte)'}');
        pickle[^1] = (byte)'.';
        var e = Refused(Checkpoint.ZipPickle(CompressionLevel.NoCompression, pickle), "dicts.pth", maxAllocated: 200L << 20);
        Assert.Contains("the pickle", e.Message);
    }

    [Fact]
    public void CollidingIntegerKeysAreHashedInLinearTime()
    {
        // Keys i * (2^32 + 1) all had long.GetHashCode() == 0: a 2.2 MB file took 36.7 s (torch: 0.21 s).
        const int n = 100_000;
        var file = Checkpoint.Zip(p =>
        {
            p.Op('}');
            p.Op('(');
            for (long i = 1; i <= n; i++)
            {
                p.Op(0x8a); p.Op(8); p.Raw(BitConverter.GetBytes(i << 32 | i)); // LONG1, 8 bytes
                p.Op('N');
            }
            p.Op('u');
        });
        var sw = Stopwatch.StartNew();
        var root = Assert.IsType<PthDict>(PthFile.Read(new MemoryStream(file), "collide.pth").Root);
        sw.Stop();
        Assert.Equal(n, root.Count);
        Assert.True(root.ContainsKey(5L << 32 | 5L));
        Assert.True(sw.ElapsedMilliseconds < 2000, $"{sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void TupleKeysSharingSubTuplesCannotBlowUp()
    {
        // t0 = (1,); t(k+1) = (tk,) * 100, memoised: t7 as a dict key has 100^7 leaves in a ~1.5 KB pickle (within the
        // old depth limit of 8, so the old key check walked them all).
        var file = Checkpoint.Zip(p =>
        {
            p.Op('}');
            p.Op('K'); p.Op(1); p.Op(0x85); p.Op('q'); p.Op(0); p.Op('0');
            for (int k = 1; k <= 7; k++)
            {
                p.Op('(');
                for (int j = 0; j < 100; j++) { p.Op('h'); p.Op(k - 1); }
                p.Op('t'); p.Op('q'); p.Op(k); p.Op('0');
            }
            p.Op('h'); p.Op(7); p.Op('N'); p.Op('s');
        });
        var e = Assert.IsType<CheckpointFormatException>(RunBounded(() => PthFile.Read(new MemoryStream(file), "tuplekey.pth")));
        Assert.Contains("dict key", e.Message);
    }

    [Fact]
    public void SmallTupleKeysStillWork()
    {
        var file = Checkpoint.Zip(p =>
        {
            p.Op('}');
            p.Op('K'); p.Op(1); p.Str("a"); p.Op(0x86); p.Op('K'); p.Op(7); p.Op('s');
        });
        var root = Assert.IsType<PthDict>(PthFile.Read(new MemoryStream(file), "tuple.pth").Root);
        Assert.Equal(7L, root[new object?[] { 1L, "a" }]);
    }

    [SkippableFact]
    public void SpecialFilesAreRefusedWithoutBlocking()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        var zero = Assert.IsType<CheckpointFormatException>(RunBounded(() => PthFile.Read("/dev/zero")));
        Assert.Contains("character device", zero.Message);
        var dir = Directory.CreateTempSubdirectory("sifa-fifo-");
        try
        {
            var fifo = Path.Combine(dir.FullName, "pipe.pth");
            Skip.IfNot(TryMakeFifo(fifo), "needs mkfifo");
            var e = Assert.IsType<CheckpointFormatException>(RunBounded(() => PthFile.Read(fifo), () => ReleaseFifoReader(fifo)));
            Assert.Contains("FIFO", e.Message);
            var log = new StringWriter();
            var rc = 0;
            Assert.Null(RunBounded(() => rc = PthConverter.Convert(fifo, Path.Combine(dir.FullName, "o.safetensors"), log), () => ReleaseFifoReader(fifo)));
            Assert.Equal(1, rc);
            Assert.Contains("FIFO", log.ToString());
        }
        finally { dir.Delete(true); }
    }
}
