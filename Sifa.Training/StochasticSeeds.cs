using Sifa.Nn;
using Sifa.Tensors;

namespace Sifa.Training;

/// <summary>Seeds of the model's random masks, derived from (seed, epoch, module index) so that a resumed run repeats them.</summary>
public static class StochasticSeeds
{
    /// <summary>Re-seeds the generator of every <see cref="IStochasticModule"/> (dropout / drop-path masks) of <paramref name="model"/> for 0-based <paramref name="epoch"/>.</summary>
    public static void Reseed(Module model, int seed, int epoch)
    {
        int i = 0;
        foreach (var (_, m) in model.NamedModules())
            if (m is IStochasticModule s)
                s.Generator.Reseed(Generator.Mix(((ulong)(uint)seed << 32) ^ ((ulong)(uint)epoch << 12) ^ (ulong)(i++) ^ 0x64726f7000000000UL));
    }
}
