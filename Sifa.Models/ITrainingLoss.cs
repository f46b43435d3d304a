using Sifa.Autograd;

namespace Sifa.Models;

/// <summary>A training step's loss and the scores its top-1 is counted on.</summary>
/// <param name="Loss">The scalar loss to back-propagate.</param>
/// <param name="Scores">Per-class scores (N, classes) whose softmax is the model's prediction.</param>
public readonly record struct TrainingOutput(Variable Loss, Variable Scores);

/// <summary>
/// A model whose training loss is not the cross-entropy of <see cref="IVideoModel.Forward"/> (the official SIFA-Net's
/// two heads: CE(fc) + CE(fc_dual)). The trainer uses it when the model implements it; evaluation needs nothing
/// special, because such a model's <see cref="IVideoModel.Forward"/> already returns scores whose softmax is its
/// test-time prediction.
/// </summary>
public interface ITrainingLoss
{
    /// <summary>The loss of a batch of clips against their labels, and the scores of the same forward pass.</summary>
    /// <param name="clip">Clips (N, T, 3, H, W) on the model's device.</param>
    /// <param name="labels">One class index per clip.</param>
    /// <param name="labelSmoothing">Label smoothing ε of every cross-entropy term.</param>
    /// <returns>The loss and the scores.</returns>
    TrainingOutput TrainingLoss(Variable clip, int[] labels, float labelSmoothing);
}
