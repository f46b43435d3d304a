using Sifa.Autograd;
using Sifa.Nn;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Tests.Nn;

public class ModuleTests
{
    [Fact]
    public void StateDictHasPyTorchKeysInPyTorchOrder()
    {
        var m = new ToyModel(1);
        var sd = m.StateDict();
        Assert.Equal(ToyModel.ExpectedKeys, sd.Keys.ToArray());
        Assert.DoesNotContain("attn_mask", sd.Keys); // non-persistent
        Assert.Equal("I64", sd["relative_position_index"].DType);
        Assert.Equal("I64", sd["layer1.1.bn1.num_batches_tracked"].DType);
        Assert.Empty(sd["layer1.1.bn1.num_batches_tracked"].Tensor.Shape); // 0-d like PyTorch
        Assert.Equal("F32", sd["layer1.1.bn1.running_var"].DType);
        Assert.Equal("F32", sd["fc.weight"].DType);
    }

    [Fact]
    public void NamesFollowAttachment()
    {
        var m = new ToyModel(1);
        Assert.Equal("layer1.0.conv1.weight", m.Layer1[0].Conv1.Weight.Name);
        Assert.Equal("layer1.1.downsample.1.bias", ((BatchNorm2d)m.Layer1[1].Downsample[1]).Bias!.Name);
        Assert.Equal("relative_position_bias_table", m.Table.Name);
        Assert.Equal("layer1.0.bn1.running_mean", m.NamedBuffers().Single(b => b.Name == "layer1.0.bn1.running_mean").Buffer.Name);

        // Attaching the whole model under a parent renames everything.
        var outer = new Wrapper(m);
        Assert.Equal("backbone.layer1.0.conv1.weight", m.Layer1[0].Conv1.Weight.Name);
        Assert.Equal("backbone.layer1.0.conv1.weight", outer.NamedParameters().Select(p => p.Name).Single(n => n.EndsWith("layer1.0.conv1.weight")));
        Assert.All(outer.NamedParameters(), p => Assert.Equal(p.Name, p.Parameter.Name));
        Assert.All(outer.NamedBuffers(), b => Assert.Equal(b.Name, b.Buffer.Name));
        Assert.Same(m.Layer1[1], outer.GetSubmodule("backbone.layer1.1"));
    }

    private sealed class Wrapper : Module
    {
        public Wrapper(Module inner) => RegisterModule("backbone", inner);
    }

    [Fact]
    public void NamedModulesArePreOrder()
    {
        var m = new ToyModel(1);
        var names = m.NamedModules().Select(x => x.Name).ToArray();
        Assert.Equal(new[]
        {
            "", "stem", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1", "layer1.0.downsample", "layer1.0.downsample.0", "layer1.0.downsample.1",
            "layer1.1", "layer1.1.conv1", "layer1.1.bn1", "layer1.1.downsample", "layer1.1.downsample.0", "layer1.1.downsample.1", "norm", "fc",
        }, names);
        // Parameters are the state dict minus buffers, same order.
        var bufferKeys = m.NamedBuffers().Select(b => b.Name).ToHashSet();
        Assert.Equal(ToyModel.ExpectedKeys.Where(k => !bufferKeys.Contains(k)), m.NamedParameters().Select(p => p.Name));
        Assert.All(m.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void ParameterCount()
    {
        var m = new ToyModel(1);
        long block0 = 3 * 2 * 9 + 3 + 3 + 3 * 2 + 3 + 3;  // conv1, bn1, downsample conv, downsample bn
        long block1 = 3 * 3 * 9 + 6 + 3 * 3 + 6;
        long expected = 18 + (4 * 3 + 3) + block0 + block1 + 6 + (3 * 5 + 5);
        Assert.Equal(expected, m.ParameterCount());
        m.Fc.Weight.RequiresGrad = false;
        Assert.Equal(expected - 15, m.ParameterCount(trainableOnly: true));
        Assert.Equal(expected, m.ParameterCount());
    }

    [Fact]
    public void TrainEvalPropagates()
    {
        var m = new ToyModel(1);
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.IsTraining));
        m.Eval();
        Assert.All(m.NamedModules(), x => Assert.False(x.Module.IsTraining));
        m.Layer1[1].Train();
        Assert.True(m.Layer1[1].Bn1.IsTraining);
        Assert.False(m.Layer1[0].Bn1.IsTraining);
        Assert.False(m.IsTraining);
        m.Train();
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.IsTraining));
    }

    [Fact]
    public void ZeroGradClearsGradients()
    {
        var m = new ToyModel(1);
        var x = new Variable(Tensor.RandN(new Generator(3), new[] { 2, 4 }));
        Ops.Sum(m.Stem.Forward(x)).Backward();
        Assert.NotNull(m.Stem.Weight.Grad);
        m.ZeroGrad();
        Assert.All(m.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void RegisteringANameAgainReplacesInPlace()
    {
        var m = new ToyModel(1);
        var newFc = new Linear(new Generator(9), 3, 7);
        m.ReplaceFc(newFc);
        Assert.Equal(ToyModel.ExpectedKeys, m.StateDict().Keys.ToArray());
        Assert.Equal(new[] { 7, 3 }, m.StateDict()["fc.weight"].Tensor.Shape);
        Assert.Equal("fc.weight", newFc.Weight.Name);
    }

    [Fact]
    public void DuplicateOrDottedNamesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new BadModule(0));
        Assert.Throws<ArgumentException>(() => new BadModule(1));
    }

    private sealed class BadModule : Module
    {
        public BadModule(int kind)
        {
            if (kind == 0) RegisterParameter("a.b", Tensor.Zeros(1));
            else { RegisterParameter("w", Tensor.Zeros(1)); RegisterBuffer("w", Tensor.Zeros(1)); }
        }
    }

    [Fact]
    public void StrictLoadReportsEveryProblemKeyAndLoadsNothing()
    {
        var m = new ToyModel(1);
        var before = NnAssert.Snapshot(m);
        var other = new ToyModel(2); // different values, so a partial load would show
        var sd = other.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Tensor);
        sd.Remove("layer1.0.bn1.running_var");
        sd.Remove("norm.bias");
        sd["layer9.weight"] = Tensor.Zeros(2);
        sd["head.bias"] = Tensor.Zeros(2);
        sd["fc.weight"] = Tensor.Zeros(10, 3);

        var ex = Assert.Throws<StateDictException>(() => m.LoadStateDict(sd));
        foreach (var k in new[] { "layer1.0.bn1.running_var", "norm.bias", "layer9.weight", "head.bias", "fc.weight" })
            Assert.Contains(k, ex.Message);
        Assert.Contains("(10, 3)", ex.Message);
        Assert.Contains("(5, 3)", ex.Message);
        Assert.Equal(new[] { "layer1.0.bn1.running_var", "norm.bias" }, ex.Result.MissingKeys);
        Assert.Equal(new[] { "head.bias", "layer9.weight" }, ex.Result.UnexpectedKeys.Order());
        var mm = Assert.Single(ex.Result.MismatchedKeys);
        Assert.Equal("fc.weight", mm.Key);
        Assert.Equal(new[] { 10, 3 }, mm.SourceShape);
        Assert.Equal(new[] { 5, 3 }, mm.ModelShape);
        NnAssert.SameValues(before, m);
    }

    [Fact]
    public void NonStrictLoadLoadsMatchingKeysAndReports()
    {
        var m = new ToyModel(1);
        var other = new ToyModel(2);
        var sd = other.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Tensor);
        sd.Remove("norm.bias");
        sd["extra"] = Tensor.Zeros(1);
        var fcBefore = m.Fc.Weight.Data.ToArray();
        sd["fc.weight"] = Tensor.Zeros(10, 3);
        var r = m.LoadStateDict(sd, strict: false);
        Assert.False(r.IsClean);
        Assert.Equal(new[] { "norm.bias" }, r.MissingKeys);
        Assert.Equal(new[] { "extra" }, r.UnexpectedKeys);
        Assert.Equal("fc.weight", Assert.Single(r.MismatchedKeys).Key);
        Assert.Equal(fcBefore, m.Fc.Weight.Data.ToArray());
        Assert.Equal(other.Stem.Weight.Data.ToArray(), m.Stem.Weight.Data.ToArray());
        Assert.Equal(other.Table.Data.ToArray(), m.Table.Data.ToArray());
    }

    [Fact]
    public void LoadCopiesIntoExistingTensors()
    {
        var m = new ToyModel(1);
        var w = m.Stem.Weight;
        var data = w.Data;
        var rm = m.Layer1[0].Bn1.RunningMean;
        var other = new ToyModel(2);
        other.Layer1[0].Bn1.RunningMean.Fill_(0.25f);
        var r = m.LoadStateDict(other.StateDict());
        Assert.True(r.IsClean);
        Assert.Equal(ToyModel.ExpectedKeys.Length, r.LoadedKeys.Count);
        Assert.Same(data, w.Data);
        Assert.Same(rm, m.Layer1[0].Bn1.RunningMean);
        Assert.All(rm.ToArray(), v => Assert.Equal(0.25f, v));
        Assert.Equal(other.Stem.Weight.Data.ToArray(), data.ToArray());
    }

    [Fact]
    public void SafetensorsRoundTripWithI64BuffersAndMetadata()
    {
        var dir = Directory.CreateTempSubdirectory("sifa-nn-");
        try
        {
            var path = Path.Combine(dir.FullName, "toy.safetensors");
            var m = new ToyModel(1);
            m.Layer1[1].Bn1.NumBatchesTracked.Fill_(7f);
            m.Layer1[0].Bn1.RunningVar.Fill_(1.5f);
            m.Save(path, new Dictionary<string, string> { ["arch"] = "toy", ["epoch"] = "3" });

            var raw = SafeTensors.Read(path);
            Assert.Equal(ToyModel.ExpectedKeys, raw.Tensors.Keys.ToArray());
            Assert.Equal("I64", raw.Tensors["layer1.1.bn1.num_batches_tracked"].DType);
            Assert.Equal("I64", raw.Tensors["relative_position_index"].DType);
            Assert.Equal("F32", raw.Tensors["fc.weight"].DType);
            Assert.Equal("toy", raw.Metadata["arch"]);

            var m2 = new ToyModel(2);
            var r = m2.Load(path);
            Assert.True(r.IsClean);
            Assert.Equal("3", r.Metadata["epoch"]);
            NnAssert.SameValues(NnAssert.Snapshot(m), m2);
            Assert.Equal(7f, m2.Layer1[1].Bn1.NumBatchesTracked.Item());
            Assert.Empty(m2.Layer1[1].Bn1.NumBatchesTracked.Shape);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void CorruptOrMismatchedFileGivesClearErrorsNamingTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("sifa-nn-");
        try
        {
            var m = new ToyModel(1);
            var before = NnAssert.Snapshot(m);

            var good = Path.Combine(dir.FullName, "good.safetensors");
            m.Save(good);
            var truncated = Path.Combine(dir.FullName, "truncated.safetensors");
            var bytes = File.ReadAllBytes(good);
            File.WriteAllBytes(truncated, bytes[..(bytes.Length - 10)]);
            var e1 = Assert.Throws<CheckpointFormatException>(() => m.Load(truncated));
            Assert.Contains(truncated, e1.Message);

            var garbage = Path.Combine(dir.FullName, "garbage.safetensors");
            File.WriteAllBytes(garbage, new byte[] { 1, 2, 3 });
            var e2 = Assert.Throws<CheckpointFormatException>(() => m.Load(garbage));
            Assert.Contains(garbage, e2.Message);

            var badJson = Path.Combine(dir.FullName, "badjson.safetensors");
            var hdr = "{not json"u8.ToArray();
            File.WriteAllBytes(badJson, BitConverter.GetBytes((ulong)hdr.Length).Concat(hdr).ToArray());
            var e3 = Assert.Throws<CheckpointFormatException>(() => m.Load(badJson));
            Assert.Contains(badJson, e3.Message);

            var missing = Path.Combine(dir.FullName, "nope.safetensors");
            var e4 = Assert.Throws<CheckpointFormatException>(() => m.Load(missing));
            Assert.Contains(missing, e4.Message);

            // A valid file for another model: strict load names the file and every key, and loads nothing.
            var otherPath = Path.Combine(dir.FullName, "other.safetensors");
            new Linear(new Generator(5), 4, 3).Save(otherPath);
            var e5 = Assert.Throws<StateDictException>(() => m.Load(otherPath));
            Assert.Contains(otherPath, e5.Message);
            Assert.Contains("fc.weight", e5.Message);
            Assert.Contains("weight", e5.Result.UnexpectedKeys);
            NnAssert.SameValues(before, m);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void SequentialRunsChildrenInOrder()
    {
        var g = new Generator(4);
        var a = new Linear(g, 3, 4);
        var b = new Linear(g, 4, 2);
        var seq = new Sequential(a, new ReLU(), b, new Identity());
        Assert.Equal(new[] { "0.weight", "0.bias", "2.weight", "2.bias" }, seq.NamedParameters().Select(p => p.Name));
        var x = new Variable(Tensor.RandN(g, new[] { 5, 3 }));
        var y = seq.Forward(x);
        var expect = b.Forward(Ops.Relu(a.Forward(x)));
        Assert.Equal(expect.Data.ToArray(), y.Data.ToArray());
        Assert.Throws<ArgumentException>(() => seq.Add(new CrossEntropyLoss()));
    }
}
