using Sifa.Autograd;
using Sifa.Models;
using Sifa.Nn;
using Sifa.Nn.Optim;
using Sifa.Tensors;

// A minimal consumer of the Sifa packages: build the tiny SIFA-Net preset, take one SGD step on random clips,
// then predict a class for one clip in eval mode without recording gradients.
const int classes = 8, image = 32, frames = 4, batch = 2;
var gen = new Generator(42);

VideoModel model = Presets.Create("sifa-tiny", numClasses: classes, image: image, gen: new Generator(0));
Console.WriteLine($"model: sifa-tiny, {model.ParameterCount():N0} parameters, {classes} classes, {frames}x{image}x{image} clips");

// One training step: forward, cross-entropy, backward, SGD.
var clips = new Variable(Tensor.RandN(gen, new[] { batch, frames, 3, image, image }));
int[] labels = { 3, 5 };
var opt = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
model.Train();
opt.ZeroGrad();
var logits = model.Forward(clips);
var loss = Ops.CrossEntropy(logits, labels);
loss.Backward();
opt.Step();
Console.WriteLine($"train step: logits [{string.Join(", ", logits.Data.Shape)}], loss {loss.Data.Item():F4}");

using (GradMode.NoGrad())
{
    var after = Ops.CrossEntropy(model.Forward(clips), labels);
    Console.WriteLine($"loss after the step (train mode, same clips): {after.Data.Item():F4}");
}

// Prediction: eval mode, no gradient recording, softmax, top class.
model.Eval();
using (GradMode.NoGrad())
{
    var clip = new Variable(Tensor.RandN(gen, new[] { 1, frames, 3, image, image }));
    float[] probs = Ops.Softmax(model.Forward(clip), dim: -1).Data.ToArray();
    int top = Array.IndexOf(probs, probs.Max());
    Console.WriteLine($"prediction: class {top} (p = {probs[top]:F3}); probabilities [{string.Join(", ", probs.Select(p => p.ToString("F3")))}]");
}
Console.WriteLine("sample: ok");
