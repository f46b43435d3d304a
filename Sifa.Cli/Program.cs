using System.CommandLine;
using Sifa.Cli.Commands;

// The `sifa` command: each subcommand lives in Commands/ and returns a process exit code.
var root = new RootCommand("Sifa: SIFA video models (CVPR 2022) trained from scratch in C#.");
root.Add(BenchCommands.Create());
root.Add(FlopsCommand.Create());
root.Add(ConvertCommand.Create());
foreach (var c in TrainCommands.Create()) root.Add(c);
try
{
    // Our handler below turns the expected failures into one line; System.CommandLine's own would print a stack trace.
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or InvalidOperationException or NotSupportedException)
{
    Console.Error.WriteLine($"sifa: {e.Message}");
    return 2;
}
