using System.CommandLine;
using System.Text;
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
        cmd.SetAction(r =>
        {
            using var log = new ErrorLinesToStderr();
            // The converter reports a refused input or an unwritable output as an `error: ` line and a non-zero code:
            // both are runtime failures (exit 1), the line the CLI's one error line on stderr.
            return PthConverter.Convert(r.GetValue(input)!, r.GetValue(output)!, log) == 0 ? 0 : SifaCli.Failure;
        });
        return cmd;
    }

    /// <summary>Passes the converter's report to stdout, except its <c>error: </c> lines, which go to stderr as <c>sifa: </c> lines.</summary>
    private sealed class ErrorLinesToStderr : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => Console.Out.Encoding;

        public override void Write(char value)
        {
            if (value != '\n') { _line.Append(value); return; }
            Flush();
        }

        public override void Flush()
        {
            if (_line.Length == 0) return;
            var s = _line.ToString().TrimEnd('\r');
            _line.Clear();
            if (s.StartsWith("error: ", StringComparison.Ordinal)) Console.Error.WriteLine("sifa: " + s["error: ".Length..]);
            else Console.Out.WriteLine(s);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Flush();
            base.Dispose(disposing);
        }
    }
}
