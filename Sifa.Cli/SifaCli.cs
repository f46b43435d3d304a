using System.CommandLine;
using Sifa.Cli.Commands;
using Sifa.Tensors;

namespace Sifa.Cli;

/// <summary>
/// The entry point of <c>sifa</c>. Every failure ends in ONE line on stderr, <c>sifa: what went wrong</c>, and an exit
/// code: 2 for a usage error (an unknown option or value, a value out of range: fix the command line), 1 for a runtime
/// failure (bad data, a refused checkpoint, diverged training, a missing file or device). <c>--verbose</c> adds the
/// stack trace.
/// </summary>
internal static class SifaCli
{
    /// <summary>Exit code of a usage error.</summary>
    public const int Usage = 2;

    /// <summary>Exit code of a runtime failure.</summary>
    public const int Failure = 1;

    private const string VerboseFlag = "--verbose";

    /// <summary>Runs a command line; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        bool verbose = args.Contains(VerboseFlag);
        try
        {
            var root = new RootCommand("Sifa: SIFA video models (CVPR 2022) trained from scratch in C#.");
            root.Add(new Option<bool>(VerboseFlag) { Recursive = true, Description = "On an error, print the stack trace too" });
            root.Add(BenchCommands.Create());
            root.Add(FlopsCommand.Create());
            root.Add(ConvertCommand.Create());
            root.Add(ModelOptions.CreateCommand());
            foreach (var c in TrainCommands.Create()) root.Add(c);
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // System.CommandLine would print every error and the whole help; one line and a pointer to --help instead.
                var command = parsed.CommandResult.Command is RootCommand ? "sifa" : "sifa " + parsed.CommandResult.Command.Name;
                // "Required command was not provided" comes first for `sifa nosuch`; the unrecognised token says more.
                var error = parsed.Errors.FirstOrDefault(x => x.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
                Console.Error.WriteLine($"sifa: {OneLine(error.Message)} (see `{command} --help`)");
                return Usage;
            }
            // Our handler below turns failures into one line; System.CommandLine's own would print a stack trace.
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Report(e, verbose);
        }
    }

    /// <summary>Prints the one error line (and the trace when verbose) and gives the exit code.</summary>
    private static int Report(Exception e, bool verbose)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        bool known = e is SifaException or ArgumentException or NotSupportedException or IOException or InvalidDataException
            or UnauthorizedAccessException or OperationCanceledException;
        var line = known ? OneLine(e.Message) : $"internal error: {e.GetType().Name}: {OneLine(e.Message)}";
        if (!verbose && !known) line += $" ({VerboseFlag} prints the stack trace)";
        Console.Out.Flush();
        Console.Error.WriteLine($"sifa: {line}");
        if (verbose) Console.Error.WriteLine(e.ToString());
        return e is ArgumentException ? Usage : Failure;
    }

    private static string OneLine(string s) =>
        string.Join(' ', s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
