using System.CommandLine;
using Sifa.Tensors;

namespace Sifa.Cli.Commands;

/// <summary><c>--device</c>: where a command computes (default <c>cpu</c>).</summary>
internal static class DeviceOption
{
    /// <summary>Creates the option.</summary>
    public static Option<string> Create() => new("--device")
    {
        DefaultValueFactory = _ => Device.Cpu.ToString(),
        Description = $"Compute device: {Device.Names}",
    };

    /// <summary>
    /// Parses the option's text and checks that the device has a backend, before any work: an unknown name throws
    /// <see cref="ArgumentException"/> and an unavailable device <see cref="NotSupportedException"/>, each with a
    /// message that the CLI prints as its one error line.
    /// </summary>
    public static Device Resolve(string text)
    {
        var device = Device.Parse(text);
        Backends.For(device);
        return device;
    }

    /// <summary>The backend of <see cref="Resolve"/>'s device.</summary>
    public static IBackend Backend(string text) => Backends.For(Resolve(text));
}
