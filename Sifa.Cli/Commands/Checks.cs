using Sifa.Autograd;
using Sifa.Models;
using Sifa.Tensors;

namespace Sifa.Cli.Commands;

/// <summary>
/// Up-front checks of command-line values: each refuses a value with an <see cref="ArgumentException"/> naming the
/// option, before any data is read or any model is trained (the CLI prints it as one line and exits 2).
/// </summary>
internal static class Checks
{
    /// <summary>The most frames per clip a command accepts (the paper uses 8 to 32).</summary>
    public const int MaxFrames = 1024;

    /// <summary>The largest frame side a command accepts.</summary>
    public const int MaxSize = 2048;

    /// <summary>Refuses an integer outside [min, max].</summary>
    public static int Range(string option, int value, int min, int max = int.MaxValue) =>
        value >= min && value <= max ? value
            : throw new ArgumentException(max == int.MaxValue ? $"{option} must be ≥ {min}, got {value}" : $"{option} must be in [{min}, {max}], got {value}");

    /// <summary>Refuses an unknown model preset.</summary>
    public static string Model(string name) =>
        Presets.Names.Contains(name.ToLowerInvariant()) ? name
            : throw new ArgumentException($"--model '{name}' is unknown; presets: {string.Join(", ", Presets.Names)} (or a .json model config file)");

    /// <summary>Frames and frame side within bounds.</summary>
    public static void Clip(int frames, int size)
    {
        Range("--frames", frames, 1, MaxFrames);
        Range("--size", size, 1, MaxSize);
    }

    /// <summary>
    /// Builds the model <paramref name="spec"/> describes (<paramref name="name"/> names it in errors), then checks with
    /// <see cref="Fit"/> that it takes the clip shape.
    /// </summary>
    public static VideoModel BuildModel(ModelSpec spec, string name, int frames, Generator? gen = null)
    {
        VideoModel m;
        try { m = Presets.Create(spec, gen); }
        catch (ArgumentException e) { throw Unfit(name, frames, spec.Image, e); }
        Fit(m, name, frames, spec.Image);
        return m;
    }

    /// <summary>
    /// Runs one zero clip through the model in eval mode without gradients, so that a size or frame count the network
    /// cannot take (a Swin token grid its windows do not divide, frames not a multiple of the stem stride, a frame too
    /// small for the strides) is refused now, naming the options, rather than at the first step.
    /// </summary>
    public static void Fit(VideoModel m, string name, int frames, int size)
    {
        if (frames % m.TemporalStride != 0)
            throw new ArgumentException($"--frames {frames} is not a multiple of {name}'s temporal stem stride {m.TemporalStride}");
        bool was = m.IsTraining;
        m.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            m.Forward(new Variable(Tensor.Zeros(1, frames, 3, size, size)));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException or OverflowException)
        {
            throw Unfit(name, frames, size, e);
        }
        m.Train(was);
    }

    private static ArgumentException Unfit(string name, int frames, int size, Exception e) =>
        new($"--model {name} cannot take --frames {frames} --size {size}: {e.Message}", e);

    /// <summary>
    /// Refuses an output folder that is a file or cannot be written (created when missing; a probe file is written and
    /// removed), before training starts.
    /// </summary>
    public static string OutDir(string dir)
    {
        if (File.Exists(dir)) throw new ArgumentException($"--out {dir} is a file, not a folder");
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, ".sifa-write-test");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"--out {dir} cannot be written: {e.Message}", e);
        }
        return dir;
    }
}
