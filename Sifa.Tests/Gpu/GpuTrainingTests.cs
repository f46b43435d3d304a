using Sifa.Data;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Tests.Gpu;

/// <summary>
/// A short training run of sifa-tiny on the GPU backend (ILGPU's CPU accelerator here, CUDA where present) against the
/// same run on the CPU: the whole stack — data to the device, SIFA custom op, conv, batch norm, loss, AdamW, clipping,
/// evaluation — gives the same losses and metrics to float rounding.
/// </summary>
public class GpuTrainingTests
{
    public static TheoryData<string> GpuDevices()
    {
        var data = new TheoryData<string>();
        foreach (var d in TestDevices.Available().Where(d => d != Device.Cpu)) data.Add(d.ToString());
        return data;
    }

    [Theory, MemberData(nameof(GpuDevices))]
    public void SifaTinyTrainsLikeOnTheCpu(string device)
    {
        var o = new SyntheticMotionOptions { Frames = 4, Size = 16, TrainCount = 4, ValidationCount = 2, Seed = 3 };
        var train = new SyntheticMotionDataset(o, DatasetSplit.Train);
        var val = new SyntheticMotionDataset(o, DatasetSplit.Validation);
        IReadOnlyList<EpochMetrics> Run(Device d)
        {
            var opts = new TrainerOptions
            {
                Epochs = 1, BatchSize = 2, Lr = 2e-3, WarmupSteps = 1, Seed = 5, Workers = 0, Progress = false, Device = d,
                OutDir = Directory.CreateTempSubdirectory("sifa-gpu-train-").FullName,
            };
            var model = Presets.Create("sifa-tiny", 8, null, 16, new Generator(1));
            return new Trainer(model, train, val, opts, TextWriter.Null).Run();
        }
        var cpu = Run(Device.Cpu).Single();
        var gpu = Run(TestDevices.Of(device)).Single();
        Assert.Equal(cpu.TrainLoss, gpu.TrainLoss, 3);
        Assert.Equal(cpu.ValLoss, gpu.ValLoss, 3);
        Assert.Equal(cpu.ValTop1, gpu.ValTop1, 6);
    }
}
