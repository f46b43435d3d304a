using Sifa.Autograd;
using Sifa.Data;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Training;
using Xunit;

namespace Sifa.Tests.Official;

/// <summary>The official networks in the trainer (the dual-head loss) and on every device.</summary>
public sealed class OfficialTrainingTests
{
    private static OfficialSifaResNet TinyResNet(int classes = 8) =>
        new(new OfficialResNetConfig(new[] { 1, 2, 2, 2 }, Width: 4, NumClasses: classes, StemStride: 1, Dropout: 0f), new Generator(1));

    private static OfficialSifaSwin TinySwin() =>
        new(new OfficialSwinConfig(16, 4, 8, new[] { 2, 2 }, new[] { 1, 2 }, 2, 5, DropPath: 0f, Dropout: 0f, StemStride: 1), new Generator(2));

    [Fact]
    public void TrainerUsesTheDualHeadLoss()
    {
        var synth = new SyntheticMotionOptions { Frames = 4, Size = 16, TrainCount = 16, ValidationCount = 8, Seed = 3 };
        var dir = Directory.CreateTempSubdirectory("sifa-official-").FullName;
        var opts = new TrainerOptions { Epochs = 1, BatchSize = 8, Lr = 1e-4, WarmupSteps = 1, Seed = 5, Workers = 0, OutDir = dir, Progress = false };
        var h = new Trainer(TinyResNet(), new SyntheticMotionDataset(synth), new SyntheticMotionDataset(synth, DatasetSplit.Validation), opts, TextWriter.Null).Run();
        // CE(fc) + CE(fc_dual) of a network near chance is about 2 ln 8 = 4.16; one cross-entropy would be about 2.08.
        Assert.InRange(h[0].TrainLoss, 1.6 * Math.Log(8), 3 * Math.Log(8));
        // Validation scores the mean of the two softmaxes: a proper distribution, so its loss is one cross-entropy.
        Assert.InRange(h[0].ValLoss, 0.5 * Math.Log(8), 1.6 * Math.Log(8));
    }

    [Theory]
    [MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void OfficialNetworksMatchTheCpuOnEveryDevice(string device)
    {
        var dev = TestDevices.Of(device);
        foreach (var make in new Func<VideoModel>[] { () => TinyResNet(5), TinySwin })
        {
            var clip = Tensor.RandN(new Generator(7), new[] { 1, 4, 3, 16, 16 });
            int[] labels = { 3 };
            var cpu = make();
            var (lossCpu, gradCpu) = Step(cpu, clip, labels);
            var other = make();
            other.To(dev);
            var (lossDev, gradDev) = Step(other, clip.ToDevice(dev), labels);
            Assert.Equal(lossCpu, lossDev, 3);
            foreach (var (name, g) in gradCpu)
            {
                var d = gradDev[name];
                double scale = Math.Max(1e-3, g.Max(Math.Abs));
                Assert.True(g.Zip(d).All(t => Math.Abs(t.First - t.Second) <= 1e-3 * scale + 1e-5), $"{device}: gradient of {name}");
            }
        }
    }

    private static (float Loss, Dictionary<string, float[]> Grads) Step(VideoModel model, Tensor clip, int[] labels)
    {
        var loss = model is ITrainingLoss own ? own.TrainingLoss(new Variable(clip), labels, 0.1f).Loss : Ops.CrossEntropy(model.Forward(new Variable(clip)), labels, 0.1f);
        loss.Backward();
        return (loss.Data.ToArray()[0], model.NamedParameters().Where(p => p.Parameter.Grad != null).ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToArray()));
    }
}
