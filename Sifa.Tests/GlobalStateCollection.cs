namespace Sifa.Tests;

/// <summary>
/// Tests that change process-wide settings (GEMM block sizes, kernel selection, thread counts). xunit runs this
/// collection after and apart from all others, so those settings never leak into a concurrently running test
/// that expects bit-exact results (e.g. resumed training equal to an uninterrupted run).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalStateCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Process-wide settings";
}
