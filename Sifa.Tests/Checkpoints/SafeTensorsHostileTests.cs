using Sifa.Tensors;
using Sifa.Tensors.IO;
using static Sifa.Tests.Checkpoints.HostileFiles;

namespace Sifa.Tests.Checkpoints;

/// <summary>
/// The safetensors reader against hostile files: every rule of the reference implementation (huggingface
/// <c>safetensors</c>, <c>read_metadata</c> + <c>Metadata::validate</c>) is enforced, and each refusal is a
/// <see cref="CheckpointFormatException"/> naming the file and the key.
/// </summary>
public sealed class SafeTensorsHostileTests
{
    private static CheckpointFormatException Refused(byte[] file, string name = "hostile.safetensors") =>
        AssertRefused(() => SafeTensors.Parse(file, name), name);

    private static readonly byte[] Eight = [0, 0, 128, 63, 0, 0, 0, 64]; // F32 1, 2

    [Fact]
    public void ValidFileStillReads()
    {
        var c = SafeTensors.Parse(SafeTensorsBytes("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}""", Eight));
        Assert.Equal(new[] { 1f, 2f }, c.Tensors["a"].Tensor.ToArray());
        Assert.Equal("v", c.Metadata["k"]);
    }

    [Fact]
    public void EntriesOutOfOrderInTheHeaderAreFineWhenTheyTileTheBuffer()
    {
        // The reference sorts by offsets; order in the JSON does not matter. Zero-sized tensors take no bytes.
        var c = SafeTensors.Parse(SafeTensorsBytes(
            """{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"__metadata__":null}""", Eight));
        Assert.Equal(new[] { "b", "z", "a" }, c.Tensors.Keys.ToArray());
        Assert.Equal(2f, c.Tensors["b"].Tensor.ToArray()[0]);
        Assert.Equal(1f, c.Tensors["a"].Tensor.Item());
        Assert.Equal(new[] { 0, 3 }, c.Tensors["z"].Tensor.Shape);
    }

    [Fact]
    public void OffsetsNear2Pow63AreRefusedNotWrappedIntoTheHeader()
    {
        // Before the fix, 8 + hlen + end overflowed to a negative number, passed the bounds check, and the (int) cast
        // of begin pointed back into the header: the tensor was read from the wrong bytes and the load succeeded.
        const ulong end = 1UL << 63, begin = end - 8;
        var e = Refused(SafeTensorsBytes($$$"""{"w":{"dtype":"F32","shape":[2],"data_offsets":[{{{begin}}},{{{end}}}]}}""", Eight));
        Assert.Equal("w", e.Key);
        var e2 = Refused(SafeTensorsBytes($$$"""{"w":{"dtype":"F32","shape":[2],"data_offsets":[{{{ulong.MaxValue - 7}}},{{{ulong.MaxValue}}}]}}""", Eight));
        Assert.Contains("'w'", e2.Message);
    }

    [Fact]
    public void OverlappingTensorsAreRefused()
    {
        var e = Refused(SafeTensorsBytes(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]));
        Assert.Equal("b", e.Key);
        Assert.Contains("overlap", e.Message);
        // Two tensors sharing the same bytes.
        Refused(SafeTensorsBytes(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", Eight));
    }

    [Fact]
    public void GapsAreRefused()
    {
        var e = Refused(SafeTensorsBytes(
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}""", new byte[20]));
        Assert.Equal("b", e.Key);
        Assert.Contains("gap", e.Message);
        // Data not starting at offset 0.
        Refused(SafeTensorsBytes("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Eight));
    }

    [Fact]
    public void TrailingBytesAreRefused()
    {
        var e = Refused(SafeTensorsBytes("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", [.. Eight, 1, 2, 3, 4]));
        Assert.Contains("trailing", e.Message);
        Refused(SafeTensorsBytes("{}", [0]));
    }

    [Fact]
    public void DuplicateKeysAreRefused()
    {
        var e = Refused(SafeTensorsBytes(
            """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Eight));
        Assert.Equal("a", e.Key);
        Refused(SafeTensorsBytes("""{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}""", Eight));
        Refused(SafeTensorsBytes("""{"__metadata__":{"k":"1","k":"2"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", Eight));
    }

    [Fact]
    public void HeaderLengthIsBounded()
    {
        // 100 MB + 1 is over the reference's MAX_HEADER_SIZE even when the file were that long; 2^64-1 must not wrap.
        var e = Refused(SafeTensorsBytes("{}", [], headerLengthOverride: 100_000_001));
        Assert.Contains("limit", e.Message);
        Refused(SafeTensorsBytes("{}", [], headerLengthOverride: ulong.MaxValue));
        Refused(SafeTensorsBytes("{}", [], headerLengthOverride: 1000));
        Refused([1, 2, 3]);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("{not json")]
    [InlineData("{\"a\":1}")]
    [InlineData("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}")]                                   // no dtype: KeyNotFoundException before
    [InlineData("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}")]                        // InvalidOperationException before
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}")]                // FormatException before
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e1]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,4]}}")]                  // dtype × shape ≠ length
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615,2],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"__metadata__\":{\"k\":1}}")] // InvalidOperationException before
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"__metadata__\":[]}")]
    public void MalformedHeadersGiveTheNamedError(string header)
    {
        var e = Refused(SafeTensorsBytes(header, [0, 0, 128, 63]));
        if (header.Contains("\"a\":{", StringComparison.Ordinal) && !header.Contains("__metadata__", StringComparison.Ordinal))
            Assert.Equal("a", e.Key);
    }

    [Fact]
    public void InvalidUtf8InTheHeaderIsTheNamedError()
    {
        // Found by the fuzzer: a 0xFF inside a key escaped as InvalidOperationException from System.Text.Json.
        var file = SafeTensorsBytes("""{"ab":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", Eight);
        file[10] = 0xff;
        Assert.Contains("UTF-8", Refused(file).Message);
    }

    [Fact]
    public void FilesAreReadOnlyWhenRegular()
    {
        var dir = Directory.CreateTempSubdirectory("sifa-st-");
        try
        {
            AssertRefused(() => SafeTensors.Read(dir.FullName), dir.FullName);
            var missing = Path.Combine(dir.FullName, "missing.safetensors");
            AssertRefused(() => SafeTensors.Read(missing), missing);
            var good = Path.Combine(dir.FullName, "good.safetensors");
            File.WriteAllBytes(good, SafeTensorsBytes("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", Eight));
            Assert.Equal(new[] { 1f, 2f }, SafeTensors.Read(good).Tensors["a"].Tensor.ToArray());
        }
        finally { dir.Delete(true); }
    }

    [SkippableFact]
    public void DevZeroIsRefusedBeforeReading()
    {
        // Before: File.ReadAllBytes on /dev/zero grew to 4.2 GB and died with OutOfMemoryException.
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/dev/zero"), "needs /dev/zero");
        var e = RunBounded(() => SafeTensors.Read("/dev/zero"));
        var f = Assert.IsType<CheckpointFormatException>(e);
        Assert.Contains("/dev/zero", f.Message);
        Assert.Contains("character device", f.Message);
    }

    [SkippableFact]
    public void FifoIsRefusedWithoutBlocking()
    {
        // Before: opening a FIFO with no writer blocked forever.
        var dir = Directory.CreateTempSubdirectory("sifa-fifo-");
        try
        {
            var fifo = Path.Combine(dir.FullName, "pipe.safetensors");
            Skip.IfNot(OperatingSystem.IsLinux() && TryMakeFifo(fifo), "needs Linux and mkfifo");
            var e = Assert.IsType<CheckpointFormatException>(RunBounded(() => SafeTensors.Read(fifo), () => ReleaseFifoReader(fifo)));
            Assert.Contains("FIFO", e.Message);
            // A symbolic link to the FIFO is followed and refused too.
            var link = Path.Combine(dir.FullName, "link.safetensors");
            File.CreateSymbolicLink(link, fifo);
            Assert.IsType<CheckpointFormatException>(RunBounded(() => SafeTensors.Read(link), () => ReleaseFifoReader(fifo)));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void WriterRefusesDuplicateKeys()
    {
        var t = new NamedTensor("F32", Tensor.Zeros(1));
        var path = Path.Combine(Path.GetTempPath(), $"sifa-dup-{Guid.NewGuid():N}.safetensors");
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [new("a", t), new("a", t)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [new("__metadata__", t)]));
        Assert.False(File.Exists(path));
    }
}
