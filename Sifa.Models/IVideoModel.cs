using Sifa.Autograd;

namespace Sifa.Models;

/// <summary>A video classifier: clips (N, T, 3, H, W) → logits (N, classes).</summary>
public interface IVideoModel
{
    /// <summary>Logits for a batch of clips.</summary>
    /// <param name="clip">Clips (N, T, 3, H, W).</param>
    /// <returns>Logits (N, classes).</returns>
    Variable Forward(Variable clip);

    /// <summary>Temporal stride of the stem: the frame count must be a multiple of it.</summary>
    int TemporalStride { get; }
}
