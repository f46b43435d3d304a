using System.CommandLine;
using System.Globalization;
using Sifa.Data;
using Sifa.Tensors;
using Sifa.Training;

namespace Sifa.Cli.Commands;

/// <summary>The <c>predict</c> command: the top classes of one video.</summary>
internal static class PredictCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("predict", "Top classes of one video. A self-describing checkpoint needs only --checkpoint; " +
                                         "an old one needs --classes (and --model/--frames/--size unless the defaults fit).");
        var ck = new CheckpointOptions();
        ck.AddTo(cmd);
        var top = new Option<int>("--top") { DefaultValueFactory = _ => 5, Description = "How many classes to print" };
        var device = DeviceOption.Create();
        var video = new Argument<string>("video") { Description = "The video file to classify" };
        cmd.Add(top); cmd.Add(device);
        cmd.Add(video);
        cmd.SetAction(pr =>
        {
            int k = Checks.Range("--top", pr.GetValue(top), 1);
            var dev = DeviceOption.Resolve(pr.GetValue(device)!);
            var loaded = ck.Load(pr);
            var names = loaded.ClassNames!; // Load requires --classes when the checkpoint does not name them
            var net = loaded.Model; net.To(dev);
            var path = pr.GetValue(video)!;
            var sample = loaded.Pipeline().Run(new VideoFileSource(path), 0, new Random(0));
            var clips = Tensor.FromArray(sample.Data, sample.Views, sample.Frames, 3, sample.Height, sample.Width);
            var probs = Evaluator.AveragedProbabilities(net, clips, sample.Views);
            if (!probs.All(float.IsFinite)) throw new NonFiniteException($"{path}: the model's probabilities are not finite");
            foreach (var i in Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).Take(k))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{probs[i]:F4}  {names[i]}"));
            return 0;
        });
        return cmd;
    }
}
