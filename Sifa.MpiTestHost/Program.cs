using System.Globalization;
using Sifa.Data;
using Sifa.Distributed;
using Sifa.Models;
using Sifa.Tensors;
using Sifa.Training;

// Usage: Sifa.MpiTestHost OUT [--epochs N] [--batch B] [--train-size N] [--sync-bn] [--resume] [--timeout S]
//        [--accumulate K] [--stop-after N] [--hang-rank R --hang-at "epoch E step S"]   (rank R stops answering there: the others must time out)
var a = args.ToList();
string Opt(string name, string dflt) { int i = a.IndexOf(name); return i >= 0 ? a[i + 1] : dflt; }
int Int(string name, int dflt) => int.Parse(Opt(name, dflt.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
string outDir = a[0];
int hangRank = Int("--hang-rank", -1);

ICollective c = Launch.FromEnvironment();
c.Timeout = TimeSpan.FromSeconds(double.Parse(Opt("--timeout", "120"), CultureInfo.InvariantCulture));
Console.Error.WriteLine($"rank {c.Rank} pid {Environment.ProcessId}");
if (hangRank >= 0) c = new Hang(c, hangRank, Opt("--hang-at", "epoch 1 step 1"));
var dp = c.Size > 1 ? new DataParallel(c, a.Contains("--sync-bn")) : null;

var so = new SyntheticMotionOptions { Frames = 4, Size = 16, TrainCount = Int("--train-size", 8), ValidationCount = 4, Seed = 3 };
var train = new SyntheticMotionDataset(so, DatasetSplit.Train);
var val = new SyntheticMotionDataset(so, DatasetSplit.Validation);
var model = new SifaResNet(new ResNetConfig(new[] { 1, 1, 1, 1 }, 8, train.ClassNames.Count, Dropout: 0f), new Generator(7));
var opts = TrainerOptions.Defaults with
{
    Epochs = Int("--epochs", 20), BatchSize = Int("--batch", 8), Workers = 0, Seed = 5, WarmupSteps = 2, OutDir = outDir,
    Progress = false, Resume = a.Contains("--resume") ? ResumeMode.Required : ResumeMode.Never, Overwrite = !a.Contains("--resume"),
    StopAfterEpochs = Int("--stop-after", 0), Accumulate = Int("--accumulate", 1),
};
var log = dp is { IsRoot: false } ? TextWriter.Null : Console.Out;
new Trainer(model, train, val, opts, log) { Parallel = dp }.Run();
c.Dispose();
return 0;

// Delegates to the real collectives, except that one rank stops answering at one point of the run.
sealed class Hang(ICollective inner, int rank, string at) : ICollective
{
    public int Rank => inner.Rank;
    public int Size => inner.Size;
    public string Name => inner.Name;
    public TimeSpan Timeout { get => inner.Timeout; set => inner.Timeout = value; }
    public string Context { get => inner.Context; set => inner.Context = value; }

    private void MaybeHang()
    {
        if (inner.Rank != rank || inner.Context != at) return;
        Console.Error.WriteLine($"rank {rank}: hanging at {at} (test)");
        Thread.Sleep(System.Threading.Timeout.Infinite);
    }

    public void AllReduceSum(Span<float> values, string what) { MaybeHang(); inner.AllReduceSum(values, what); }
    public void AllReduceSum(Span<double> values, string what) { MaybeHang(); inner.AllReduceSum(values, what); }
    public IPendingCollective StartAllReduceSum(float[] buffer, int offset, int count, string what) { MaybeHang(); return inner.StartAllReduceSum(buffer, offset, count, what); }
    public IPendingCollective StartAllReduceSum(double[] buffer, string what) { MaybeHang(); return inner.StartAllReduceSum(buffer, what); }
    public void Broadcast(Span<float> values, int root, string what) => inner.Broadcast(values, root, what);
    public void Broadcast(Span<byte> values, int root, string what) => inner.Broadcast(values, root, what);
    public void Barrier(string what) => inner.Barrier(what);
    public void Abort(string message) => inner.Abort(message);
    public void Dispose() => inner.Dispose();
}
