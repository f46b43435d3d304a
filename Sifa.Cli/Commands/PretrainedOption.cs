using System.CommandLine;
using Sifa.Models;
using Sifa.Nn;

namespace Sifa.Cli.Commands;

/// <summary>
/// <c>--pretrained &lt;file&gt;</c>: starts a model from a PyTorch <c>.pth</c> or <c>.safetensors</c> checkpoint
/// (ImageNet weights inflated into the video model; SPEC section 6). To be wired into <c>train</c> and <c>eval</c>.
/// </summary>
internal static class PretrainedOption
{
    /// <summary>Creates the option (no default: absent means random initialisation).</summary>
    /// <returns>The option.</returns>
    public static Option<string?> Create() => new("--pretrained")
    {
        Description = "A .pth (torch.save, zip or legacy) or .safetensors checkpoint to start from; a 2D ImageNet " +
                      "checkpoint is inflated (stem at the centre tap, SIFA at init, classifier re-initialised when the class count differs).",
    };

    /// <summary>Loads the checkpoint into the model when a path is given, printing the report.</summary>
    /// <param name="model">The freshly built model.</param>
    /// <param name="path">The checkpoint, or null/empty for none.</param>
    public static void Apply(Module model, string? path)
    {
        if (string.IsNullOrWhiteSpace(path)) return;
        Pretrained.LoadInto(model, path, Console.Out);
    }
}
