using System.CommandLine;
using Sifa.Nn.Checkpoints.Pth;

namespace Sifa.Cli.Commands;

/// <summary><c>sifa convert in.pth out.safetensors</c>: PyTorch checkpoint to safetensors, without Python.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A .pth file written by torch.save (zip or legacy format)." };
        var output = new Argument<string>("output") { Description = "The .safetensors file to write." };
        var cmd = new Command("convert", "Converts a PyTorch .pth state dict to safetensors.") { input, output };
        cmd.SetAction(r => PthConverter.Convert(r.GetValue(input)!, r.GetValue(output)!, Console.Out));
        return cmd;
    }
}
