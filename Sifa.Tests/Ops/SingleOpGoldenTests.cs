using Sifa.Tests.Golden;

namespace Sifa.Tests.OpTests;

/// <summary>Golden parity of every single-op file in the golden folder (through <see cref="SingleOpCases"/>).</summary>
public class SingleOpGoldenTests
{
    /// <summary>The golden files whose kind is a single op, by file name.</summary>
    public static IEnumerable<object[]> Files()
    {
        var files = GoldenFolder.Files()
            .Where(f => GoldenCase.PeekKind(f) is { } k && SingleOpCases.Kinds.Contains(k))
            .Select(f => new object[] { System.IO.Path.GetFileName(f) })
            .ToList();
        if (files.Count == 0) files.Add(new object[] { "" }); // reported as a failure below
        return files;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesGolden(string file)
    {
        Assert.False(file.Length == 0, $"no single-op golden files found in {GoldenFolder.Path}");
        var c = new GoldenCase(System.IO.Path.Combine(GoldenFolder.Path, file));
        Assert.True(SingleOpCases.TryRun(c.Kind, c), $"{file}: kind '{c.Kind}' not handled");
    }

    [Fact]
    public void AllExpectedCasesArePresent()
    {
        var names = GoldenFolder.Files().Select(f => System.IO.Path.GetFileNameWithoutExtension(f)).ToHashSet();
        foreach (var n in new[] { "conv2d_3x3", "conv2d_7x7_s2_bias", "conv2d_dil2_groups2", "linear", "batchnorm2d", "layernorm",
                     "gelu", "relu", "sigmoid", "softmax", "log_softmax", "maxpool2d", "cross_entropy", "roll" })
            Assert.True(names.Contains(n), $"golden case {n} missing from {GoldenFolder.Path}");
    }
}
