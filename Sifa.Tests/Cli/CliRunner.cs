using Sifa.Cli;

namespace Sifa.Tests.Cli;

/// <summary>
/// Runs <c>sifa</c>'s entry point in-process with stdout and stderr captured. Console redirection is process-wide, so
/// callers belong to <see cref="GlobalStateCollection"/>.
/// </summary>
internal static class CliRunner
{
    /// <summary>Exit code and captured output of one command line.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (o, e) = (Console.Out, Console.Error);
        var so = new StringWriter();
        var se = new StringWriter();
        Console.SetOut(so);
        Console.SetError(se);
        try { return (SifaCli.Run(args), so.ToString(), se.ToString()); }
        finally { Console.SetOut(o); Console.SetError(e); }
    }
}
