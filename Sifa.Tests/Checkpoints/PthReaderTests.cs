using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using Sifa.Nn.Checkpoints.Pth;
using Sifa.Tensors.IO;

namespace Sifa.Tests.Checkpoints;

/// <summary>Tests of the PyTorch checkpoint reader (<see cref="PthFile"/>) and converter (<see cref="PthConverter"/>).</summary>
public sealed class PthReaderTests
{
    // ================================================================== locations

    private static string? FindRepoRoot() => TestPaths.RepoRoot;

    private static string FixtureDir => TestPaths.PthFixtureDir;

    /// <summary>The generated test files (Sifa.Tests/Checkpoints/data, made by gen_pth.py there).</summary>
    private static string DataDir =>
        Path.Combine(FindRepoRoot() ?? throw new DirectoryNotFoundException("Sifa.sln not found above the test binaries"),
            "Sifa.Tests", "Checkpoints", "data");

    private static string Fixture(string name) => Path.Combine(FixtureDir, name);

    private static string Data(string name) => Path.Combine(DataDir, name);

    // ================================================================== shared fixtures

    [Theory]
    [InlineData("resnet_w8_zip", PthFormat.Zip)]
    [InlineData("resnet_w8_legacy", PthFormat.Legacy)]
    public void ResNetFixtureLoads(string name, PthFormat format)
    {
        var sd = PthFile.LoadStateDict(Fixture(name + ".pth"));
        Assert.Equal(format, sd.Format);
        Assert.Null(sd.ContainerKey);
        Assert.Empty(sd.SkippedKeys);
        Assert.Equal(104, sd.Count);
        Assert.Equal("conv1.weight", sd[0].Key);
        Assert.Equal(new[] { 8, 3, 7, 7 }, sd["conv1.weight"].Shape);
        Assert.Equal(new[] { 10, 256 }, sd["fc.weight"].Shape);
        Assert.Equal(new[] { 256, 128, 1, 1 }, sd["layer4.0.downsample.0.weight"].Shape);
        var nbt = sd["bn1.num_batches_tracked"];
        Assert.Equal("I64", nbt.DType);
        Assert.Empty(nbt.Shape);
        Assert.Equal(1234f, nbt.Tensor.Item());
        Assert.All(sd.Where(p => !p.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)), p => Assert.Equal("F32", p.Value.DType));

        uint[] fcBias = format == PthFormat.Zip
            ? [0xbcd44a6c, 0x3c048ec8, 0xbd18e5da, 0xbd5bc412, 0x3d274b38, 0xbd58d05e, 0x3d7ef120, 0xbd199190, 0x3c3fb990, 0xbbb3def0]
            : [0x3c4ae238, 0xbd0e3e68, 0x3cf72c20, 0xbd42b5d8, 0xbced8f14, 0xbc4a23c8, 0xbcbdbff4, 0xbd34d186, 0x3d2d9cf6, 0xbcfb32ec];
        Assert.Equal(fcBias, sd["fc.bias"].Tensor.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray());

        var expected = SafeTensors.Read(Fixture(name + ".expected.safetensors")).Metadata;
        Assert.Equal(expected["format"], format == PthFormat.Zip ? "zip" : "legacy");
        Assert.Equal(expected["container"], sd.ContainerKey ?? "None");
    }

    [Fact]
    public void SwinFixtureStateDictIsUnderModel()
    {
        var path = Fixture("swin_tiny_model_key.pth");
        var sd = PthFile.LoadStateDict(path);
        Assert.Equal(PthFormat.Zip, sd.Format);
        Assert.Equal("model", sd.ContainerKey);
        Assert.Equal(68, sd.Count);
        Assert.Equal(new[] { 16, 3, 4, 4 }, sd["patch_embed.proj.weight"].Shape);
        var rpi = sd["layers.0.blocks.0.attn.relative_position_index"];
        Assert.Equal("I64", rpi.DType);
        Assert.Equal(new[] { 16, 16 }, rpi.Shape);
        Assert.Equal(new float[] { 24, 23, 22, 21, 17, 16, 15, 14, 10, 9, 8, 7, 3, 2, 1, 0 }, rpi.Tensor.ToArray()[..16]);
        var mask = sd["layers.0.blocks.1.attn_mask"];
        Assert.Equal(new[] { 4, 16, 16 }, mask.Shape);
        Assert.Equal(-44800f, mask.Tensor.ToArray().Sum());
        uint[] headBias = [0x3e0760f2, 0x3dea0408, 0x3d10c70c, 0xbc9b1dca, 0xbd5fcde7, 0xbdc81ced, 0xbe20b81a, 0xbd13e8cb, 0xbe0c8e95, 0x3e0d93b5];
        Assert.Equal(headBias, sd["head.bias"].Tensor.ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray());

        var root = Assert.IsType<PthDict>(PthFile.Load(path));
        Assert.Equal(new object[] { "model", "epoch", "note" }, root.Keys.ToArray());
        Assert.Equal(7L, root["epoch"]);
        Assert.Equal("fixture", root["note"]);
        var model = Assert.IsType<PthDict>(root["model"]);
        Assert.Equal("collections.OrderedDict", model.ClassName);
        Assert.NotNull(model.Attributes);
        Assert.IsType<PthDict>(model.Attributes!["_metadata"]);

        var meta = SafeTensors.Read(Fixture("swin_tiny_model_key.expected.safetensors")).Metadata;
        Assert.Equal(meta["container"], sd.ContainerKey);
        Assert.Equal("zip", meta["format"]);
    }

    [Fact]
    public void EveryFixtureLoads()
    {
        var files = Directory.GetFiles(FixtureDir, "*.pth");
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var sd = PthFile.LoadStateDict(f);
            Assert.True(sd.Count > 0, f);
            Assert.All(sd, p => Assert.Equal(p.Value.Tensor.Numel, p.Value.Shape.Aggregate(1, (a, b) => a * b)));
        }
    }

    // ================================================================== generated files, exact values

    [Theory]
    [InlineData("values_zip.pth", PthFormat.Zip, "values")]
    [InlineData("values_legacy.pth", PthFormat.Legacy, "values")]
    [InlineData("seq_zip.pth", PthFormat.Zip, "seq")]
    [InlineData("seq_legacy.pth", PthFormat.Legacy, "seq")]
    public void GeneratedFilesMatchTorchValuesExactly(string file, PthFormat format, string expectedStem)
    {
        var sd = PthFile.LoadStateDict(Data(file));
        var expected = SafeTensors.Read(Data(expectedStem + ".expected.safetensors"));
        Assert.Equal(format, sd.Format);
        var container = expected.Metadata["container"];
        Assert.Equal(container == "None" ? null : container, sd.ContainerKey);
        var keys = System.Text.Json.JsonSerializer.Deserialize<string[]>(expected.Metadata["keys"])!;
        var dtypes = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(expected.Metadata["dtypes"])!;
        Assert.Equal(keys, sd.Keys.ToArray());
        foreach (var key in keys)
        {
            var t = sd[key];
            var e = expected.Tensors[key].Tensor;
            Assert.Equal(dtypes[key], t.DType);
            Assert.Equal(e.Shape, t.Shape);
            Assert.True(t.Tensor.IsContiguous, key);
            Assert.Equal(e.ToArray(), t.Tensor.ToArray());
        }
    }

    [Theory]
    [InlineData("values_zip.pth")]
    [InlineData("values_legacy.pth")]
    public void ObjectTreeHoldsPlainValues(string file)
    {
        var root = Assert.IsType<PthDict>(PthFile.Load(Data(file)));
        Assert.Null(root.ClassName);
        Assert.Equal(new object[] { "state_dict", "epoch", "lr", "name", "flags", "shape", "big", "neg", "huge", "raw", "by_id", "shared" },
            root.Keys.ToArray());
        Assert.Equal(3L, root["epoch"]);
        Assert.Equal(0.125, root["lr"]);
        Assert.Equal("r\u00e9sum\u00e9", root["name"]);
        Assert.Equal(new object?[] { true, false, null }, Assert.IsType<List<object?>>(root["flags"]));
        Assert.Equal(new object?[] { 1L, 2L }, Assert.IsType<object?[]>(root["shape"]));
        Assert.Equal(1L << 40, root["big"]);
        Assert.Equal(-7L, root["neg"]);
        Assert.Equal(BigInteger.Pow(2, 70), root["huge"]);
        Assert.Equal(new byte[] { 0, 1, 255 }, root["raw"]);
        var byId = Assert.IsType<PthDict>(root["by_id"]);
        Assert.Equal("a", byId[0L]);
        Assert.Equal(new object?[] { 1L, 2L }, Assert.IsType<List<object?>>(byId[1L]));

        var sd = Assert.IsType<PthDict>(root["state_dict"]);
        var f32 = Assert.IsType<PthTensor>(sd["f32"]);
        var shared = Assert.IsType<List<object?>>(root["shared"]);
        Assert.Same(f32, shared[0]);
        Assert.Same(f32, shared[1]);
        var param = Assert.IsType<PthTensor>(sd["param"]);
        Assert.True(param.IsParameter);
        Assert.True(param.RequiresGrad);
        Assert.False(f32.IsParameter);

        var state = PthFile.LoadStateDict(Data(file));
        Assert.Equal("state_dict", state.ContainerKey);
        Assert.Empty(state.SkippedKeys);
        Assert.Equal(f32.Tensor.ToArray(), state["f32"].Tensor.ToArray());
        Assert.False(state.ContainsKey("epoch"));
        Assert.Throws<KeyNotFoundException>(() => state["epoch"]);
    }

    [Fact]
    public void TopLevelStateDictKeepsMetadataAndSkipsNonTensors()
    {
        var root = Assert.IsType<PthDict>(PthFile.Load(Data("seq_zip.pth")));
        Assert.Equal("collections.OrderedDict", root.ClassName);
        Assert.IsType<PthDict>(root.Attributes!["_metadata"]);
        var sd = PthFile.LoadStateDict(Data("seq_legacy.pth"));
        Assert.Equal(17f, sd["1.num_batches_tracked"].Tensor.Item());

        // A state dict with non-tensor entries: those are skipped and reported.
        var bytes = Checkpoint.Zip(p => p.OrderedDict(
            ("w", () => p.Tensor("FloatStorage", "0", 4, 0, [2, 2], [2, 1])),
            ("note", () => p.Str("hello")),
            ("n", () => p.Int(5))), ("0", new byte[16]));
        var s = PthFile.LoadStateDict(new MemoryStream(bytes), "mixed.pth");
        Assert.Equal(new[] { "w" }, s.Keys.ToArray());
        Assert.Equal(new[] { "note", "n" }, s.SkippedKeys);
        Assert.Null(s.ContainerKey);
    }

    [Fact]
    public void ConverterWritesSafetensors()
    {
        var dir = Directory.CreateTempSubdirectory("sifa-pth-");
        try
        {
            var output = Path.Combine(dir.FullName, "values.safetensors");
            var log = new StringWriter();
            Assert.Equal(0, PthConverter.Convert(Data("values_legacy.pth"), output, log));
            Assert.Contains("state_dict", log.ToString());
            var written = SafeTensors.Read(output);
            Assert.Equal("values_legacy.pth", written.Metadata["source"]);
            Assert.Equal("legacy", written.Metadata["format"]);
            Assert.Equal("state_dict", written.Metadata["container"]);
            var expected = SafeTensors.Read(Data("values.expected.safetensors"));
            var dtypes = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(expected.Metadata["dtypes"])!;
            Assert.Equal(dtypes, System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(written.Metadata["dtypes"]));
            foreach (var (key, e) in expected.Tensors)
            {
                var w = written.Tensors[key];
                bool floating = dtypes[key] is "F32" or "F16" or "BF16" or "F64";
                Assert.Equal(floating ? "F32" : "I64", w.DType);
                Assert.Equal(e.Tensor.Shape, w.Tensor.Shape);
                Assert.Equal(e.Tensor.ToArray(), w.Tensor.ToArray());
            }

            var log2 = new StringWriter();
            var bad = Path.Combine(dir.FullName, "bad.pth");
            File.WriteAllBytes(bad, new byte[] { 1, 2, 3 });
            Assert.Equal(1, PthConverter.Convert(bad, Path.Combine(dir.FullName, "bad.safetensors"), log2));
            Assert.Contains("bad.pth", log2.ToString());
            Assert.False(File.Exists(Path.Combine(dir.FullName, "bad.safetensors")));
        }
        finally { dir.Delete(recursive: true); }
    }

    // ================================================================== hand-crafted checkpoints

    [Fact]
    public void HandCraftedCheckpointsLoadInBothFormats()
    {
        var data = new byte[6 * 4];
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), i + 0.5f);
        Action<Pickle> body = p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "k", 6, 1, [2, 2], [1, 2])));
        foreach (var bytes in new[] { Checkpoint.Zip(body, ("k", data)), Checkpoint.Legacy(body, ("k", "FloatStorage", 6, data)) })
        {
            var sd = PthFile.LoadStateDict(new MemoryStream(bytes), "hand.pth");
            // offset 1, strides (1, 2): [[s1, s3], [s2, s4]]
            Assert.Equal(new[] { 1.5f, 3.5f, 2.5f, 4.5f }, sd["w"].Tensor.ToArray());
        }
    }

    [Fact]
    public void LegacyStorageViewsAreHonoured()
    {
        var data = new byte[6 * 8];
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * 8), 10 * i - 20);
        var bytes = Checkpoint.Legacy(p => p.OrderedDict(
                ("all", () => p.Tensor("LongStorage", "k", 6, 0, [6], [1])),
                ("view", () => p.Tensor("LongStorage", "k", 6, 1, [2], [1], view: ("k_view", 2, 3)))),
            ("k", "LongStorage", 6, data));
        var sd = PthFile.LoadStateDict(new MemoryStream(bytes), "views.pth");
        Assert.Equal(new float[] { -20, -10, 0, 10, 20, 30 }, sd["all"].Tensor.ToArray());
        Assert.Equal(new float[] { 10, 20 }, sd["view"].Tensor.ToArray()); // root elements 2..4, then offset 1
        Assert.Equal("I64", sd["view"].DType);

        var outside = Checkpoint.Legacy(p => p.OrderedDict(("v", () => p.Tensor("LongStorage", "k", 6, 0, [2], [1], view: ("k_view", 5, 3)))),
            ("k", "LongStorage", 6, data));
        Assert.Contains("view metadata", AssertFailsFast(outside, "views.pth").Message);
        var beyondView = Checkpoint.Legacy(p => p.OrderedDict(("v", () => p.Tensor("LongStorage", "k", 6, 0, [4], [1], view: ("k_view", 2, 3)))),
            ("k", "LongStorage", 6, data));
        Assert.Contains("reaches element 3", AssertFailsFast(beyondView, "views.pth").Message);
        var conflict = Checkpoint.Legacy(p => p.OrderedDict(
                ("a", () => p.Tensor("LongStorage", "k", 6, 0, [6], [1])),
                ("b", () => p.Tensor("FloatStorage", "k", 6, 0, [6], [1]))),
            ("k", "LongStorage", 6, data));
        Assert.Contains("declared again", AssertFailsFast(conflict, "conflict.pth").Message);
        var unlisted = Checkpoint.Legacy(p => p.OrderedDict(("a", () => p.Tensor("LongStorage", "k", 6, 0, [6], [1]))));
        Assert.Contains("missing from the storage key list", AssertFailsFast(unlisted, "unlisted.pth").Message);
    }

    [Fact]
    public void CorruptZipDataFailsItsCrc()
    {
        var data = Enumerable.Repeat((byte)0x5a, 16).ToArray();
        var bytes = Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [4], [1]))), ("0", data));
        PthFile.LoadStateDict(new MemoryStream(bytes), "crc.pth");
        int at = bytes.AsSpan().IndexOf(data);
        bytes[at + 5] ^= 1;
        Assert.Contains("CRC", AssertFailsFast(bytes, "crc.pth").Message);
    }

    [Fact]
    public void UnknownGlobalIsRejectedByName()
    {
        // The classic payload: os.system('echo pwned').
        Action<Pickle> evil = p => { p.Global("os", "system"); p.Str("echo pwned"); p.Op(0x85); p.Op('R'); };
        foreach (var bytes in new[] { Checkpoint.Zip(evil), Checkpoint.Legacy(evil) })
        {
            var e = AssertFailsFast(bytes, "evil.pth");
            Assert.Contains("unsupported global 'os.system'", e.Message);
            Assert.Contains("evil.pth", e.Message);
        }
        // STACK_GLOBAL, and a module global outside the allow-list next to real torch names.
        var e2 = AssertFailsFast(Checkpoint.Zip(p => { p.Str("builtins"); p.Str("eval"); p.Op(0x93); }), "evil.pth");
        Assert.Contains("'builtins.eval'", e2.Message);
        var e3 = AssertFailsFast(Checkpoint.Zip(p => { p.Global("torch.nn.modules.conv", "Conv2d"); }), "model.pth");
        Assert.Contains("'torch.nn.modules.conv.Conv2d'", e3.Message);
        var e4 = AssertFailsFast(Checkpoint.Zip(p => { p.Global("torch.storage", "_load_from_bytes"); }), "x.pth");
        Assert.Contains("'torch.storage._load_from_bytes'", e4.Message);
        // An allowed global used as something it is not.
        var e5 = AssertFailsFast(Checkpoint.Zip(p => { p.Global("torch", "FloatStorage"); p.Op(')'); p.Op('R'); }), "x.pth");
        Assert.Contains("cannot be called", e5.Message);
    }

    [Fact]
    public void UnknownOpcodeAndStackErrorsFail()
    {
        Assert.Contains("opcode 0xff", AssertFailsFast(Checkpoint.Zip(p => p.Op(0xff)), "op.pth").Message);
        Assert.Contains("opcode 0x69", AssertFailsFast(Checkpoint.Zip(p => p.Op('i')), "op.pth").Message); // INST
        Assert.Contains("underflow", AssertFailsFast(Checkpoint.Zip(p => p.Op(0x86)), "u.pth").Message);
        Assert.Contains("underflow", AssertFailsFast(Checkpoint.Zip(p => { p.Int(1); p.Op('('); p.Op('s'); }), "u.pth").Message);
        Assert.Contains("MARK", AssertFailsFast(Checkpoint.Zip(p => { p.Int(1); p.Op('t'); }), "m.pth").Message);
        Assert.Contains("memo", AssertFailsFast(Checkpoint.Zip(p => { p.Op('h'); p.Op(7); }), "m.pth").Message);
        AssertFailsFast(Checkpoint.Zip(p => { p.Int(1); p.Int(2); }), "two.pth"); // two objects at STOP
        AssertFailsFast(Checkpoint.Zip(p => { p.Op(']'); p.Int(1); p.Int(2); p.Op('s'); }), "setitem.pth"); // SETITEM on a list
    }

    [Fact]
    public void WrongMagicAndNonCheckpointsFail()
    {
        var wrongMagic = Checkpoint.LegacyHeader(p => p.Op('N'), magic: BigInteger.Parse("119547037146038801333357"));
        Assert.Contains("magic", AssertFailsFast(wrongMagic, "magic.pth").Message);
        Assert.Contains("magic", AssertFailsFast(Encoding.ASCII.GetBytes("hello, this is not a checkpoint"), "text.pth").Message);
        AssertFailsFast(Array.Empty<byte>(), "empty.pth");
        AssertFailsFast(new byte[] { 0x80 }, "one.pth");
        var wrongVersion = Checkpoint.LegacyHeader(p => p.Op('N'), version: 1000);
        Assert.Contains("protocol version", AssertFailsFast(wrongVersion, "v.pth").Message);
        // A zip archive without data.pkl.
        var ms = new MemoryStream();
        using (var z = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            using (var w = new StreamWriter(z.CreateEntry("a/readme.txt").Open())) w.Write("hi");
        Assert.Contains("data.pkl", AssertFailsFast(ms.ToArray(), "nopkl.pth").Message);
    }

    [Fact]
    public void AbsurdSizesFailFastWithoutAllocating()
    {
        // 10^12 float elements claimed by a tiny file, zip and legacy.
        const long Tera = 1_000_000_000_000;
        Action<Pickle> huge = p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", Tera, 0, [1_000_000, 1_000_000], [1_000_000, 1])));
        var zip = Checkpoint.Zip(huge, ("0", new byte[16]));
        var e = AssertFailsFast(zip, "huge_zip.pth");
        Assert.Contains("1000000000000", e.Message);
        var legacy = Checkpoint.Legacy(huge, ("0", "FloatStorage", Tera, new byte[16]));
        Assert.True(legacy.Length < 700, $"legacy file is {legacy.Length} bytes");
        Assert.Contains("1000000000000", AssertFailsFast(legacy, "huge_legacy.pth").Message);

        // The smallest form: a ~100-byte legacy file whose pickle declares a 10^12-element storage.
        var tiny = Checkpoint.LegacyHeader(p => { p.Persistent("FloatStorage", "0", Tera); p.Op(0x85); }, sysInfo: false);
        Assert.True(tiny.Length <= 100, $"tiny file is {tiny.Length} bytes");
        Assert.Contains("1000000000000", AssertFailsFast(tiny, "tiny.pth").Message);

        // Storage fine but the legacy element count says 10^12.
        var count = Checkpoint.LegacyCount(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [4], [1]))),
            ("0", "FloatStorage", 4, new byte[16]), countOverride: Tera);
        Assert.Contains("1000000000000", AssertFailsFast(count, "count.pth").Message);
        // A legacy storage whose data is cut short.
        var cut = Checkpoint.Legacy(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [4], [1]))),
            ("0", "FloatStorage", 4, new byte[10]));
        Assert.Contains("truncated", AssertFailsFast(cut, "cut.pth").Message);

        // A tensor that reaches beyond its storage (offset + sum((size-1)*stride) >= numel), and overflowing strides.
        var extent = Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 1, [2, 2], [2, 1]))), ("0", new byte[16]));
        Assert.Contains("reaches element 4", AssertFailsFast(extent, "extent.pth").Message);
        var overflow = Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [3, 3], [long.MaxValue, long.MaxValue]))), ("0", new byte[16]));
        AssertFailsFast(overflow, "overflow.pth");
        var negative = Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [2], [-1]))), ("0", new byte[16]));
        AssertFailsFast(negative, "neg.pth");

        // Strings, bytes and frames that claim more than the file holds.
        Assert.Contains("2147483647", AssertFailsFast(Checkpoint.Zip(p => { p.Op('X'); p.Raw(BitConverter.GetBytes(int.MaxValue)); }), "str.pth").Message);
        AssertFailsFast(Checkpoint.Zip(p => { p.Op(0x8d); p.Raw(BitConverter.GetBytes(ulong.MaxValue)); }), "str8.pth");
        AssertFailsFast(Checkpoint.Zip(p => { p.Op('B'); p.Raw(BitConverter.GetBytes(uint.MaxValue)); }), "bytes.pth");
        AssertFailsFast(Checkpoint.Zip(p => { p.Op(0x95); p.Raw(BitConverter.GetBytes(long.MaxValue)); }), "frame.pth");
        AssertFailsFast(Checkpoint.Legacy(p => { p.Op('X'); p.Raw(BitConverter.GetBytes(int.MaxValue)); }), "str_legacy.pth");

        // A zip whose storage entry is missing.
        var missing = Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [4], [1]))));
        Assert.Contains("data/0", AssertFailsFast(missing, "missing.pth").Message);
    }

    [Fact]
    public void ZipEntriesDeclaringHugeSizesFailFast()
    {
        // A valid checkpoint whose central directory then claims a 2^40-byte data.pkl (sizes patched in place).
        var bytes = Checkpoint.Zip(p => p.OrderedDict(("w", () => p.Tensor("FloatStorage", "0", 4, 0, [4], [1]))), ("0", new byte[16]));
        int cd = FindSignature(bytes, 0x02014b50, "archive/data.pkl");
        var patched = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(patched.AsSpan(cd + 24), 0xfffffff0); // uncompressed size
        AssertFailsFast(patched, "bigentry.pth");
        var patched2 = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(patched2.AsSpan(cd + 20), 0xfffffff0); // compressed size
        BinaryPrimitives.WriteUInt32LittleEndian(patched2.AsSpan(cd + 24), 0xfffffff0);
        AssertFailsFast(patched2, "bigentry2.pth");
    }

    [Theory]
    [InlineData("values_zip.pth")]
    [InlineData("values_legacy.pth")]
    [InlineData("seq_zip.pth")]
    [InlineData("seq_legacy.pth")]
    public void TruncatedFilesFail(string file)
    {
        var full = File.ReadAllBytes(Data(file));
        foreach (var frac in new[] { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99 })
        {
            int n = (int)(full.Length * frac);
            AssertFailsFast(full[..n], $"{file}[..{n}]");
        }
        AssertFailsFast(full[..^1], $"{file}[..^1]");
    }

    [Theory]
    [InlineData("values_zip.pth")]
    [InlineData("values_legacy.pth")]
    public void CorruptedBytesNeverEscapeAsOtherExceptions(string file)
    {
        var full = File.ReadAllBytes(Data(file));
        var rng = new Random(42);
        for (int trial = 0; trial < 300; trial++)
        {
            var b = (byte[])full.Clone();
            int flips = 1 + rng.Next(4);
            for (int i = 0; i < flips; i++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            try { PthFile.Read(new MemoryStream(b), "fuzz.pth"); }
            catch (CheckpointFormatException) { }
        }
    }

    [Fact]
    public void DeeplyNestedAndCyclicPicklesAreSafe()
    {
        // 100k nested lists: no recursion anywhere.
        var deep = Checkpoint.Zip(p =>
        {
            for (int i = 0; i < 100_000; i++) p.Op(']');
            for (int i = 0; i < 99_999; i++) p.Op('a');
        });
        Assert.IsType<List<object?>>(PthFile.Read(new MemoryStream(deep), "deep.pth").Root);
        // A list that contains itself.
        var cyclic = Checkpoint.Zip(p => { p.Op(']'); p.Op('q'); p.Op(0); p.Op('h'); p.Op(0); p.Op('a'); });
        var l = Assert.IsType<List<object?>>(PthFile.Read(new MemoryStream(cyclic), "cyclic.pth").Root);
        Assert.Same(l, l[0]);
    }

    // ================================================================== helpers

    private static CheckpointFormatException AssertFailsFast(byte[] bytes, string name)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<CheckpointFormatException>(() => PthFile.Read(new MemoryStream(bytes), name));
        sw.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(name, e.Message);
        Assert.True(sw.ElapsedMilliseconds < 2000, $"{name}: took {sw.ElapsedMilliseconds} ms: {e.Message}");
        Assert.True(allocated < 16L << 20, $"{name}: allocated {allocated} bytes: {e.Message}");
        return e;
    }

    private static int FindSignature(byte[] b, uint signature, string entryName)
    {
        var nameBytes = Encoding.ASCII.GetBytes(entryName);
        for (int i = 0; i + 46 < b.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i)) == signature
                && b.AsSpan(i + 46).StartsWith(nameBytes)) return i;
        throw new InvalidOperationException("signature not found");
    }
}
