namespace Sifa.Tensors;

/// <summary>
/// An explicit, seeded random generator (xoshiro256**), so runs are reproducible: every random fill takes one.
/// </summary>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a seed.</summary>
    /// <param name="seed">The seed.</param>
    public Generator(ulong seed) => Reseed(seed);

    /// <summary>Resets the state from a seed (splitmix64 expansion).</summary>
    /// <param name="seed">The seed.</param>
    public void Reseed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>The full state, for checkpoints.</summary>
    /// <returns>Four words.</returns>
    public ulong[] GetState() => new[] { _s0, _s1, _s2, _s3 };

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    /// <param name="state">Four words.</param>
    public void SetState(ulong[] state)
    {
        if (state.Length != 4) throw new ArgumentException("generator state has 4 words");
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>
    /// The SplitMix64 output for state <paramref name="z"/> (add the golden gamma, then the finaliser): a cheap,
    /// well-mixed hash of 64 bits, used to derive independent seeds from (seed, epoch, index).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z += Gamma;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next output of the SplitMix64 generator whose state is <paramref name="state"/>, advancing it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static ulong SplitMix(ref ulong state)
    {
        ulong r = Mix(state);
        state += Gamma;
        return r;
    }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>The bits.</returns>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    /// <returns>The value.</returns>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    /// <param name="n">Exclusive bound.</param>
    /// <returns>The value.</returns>
    public int NextInt(int n) => (int)(NextDouble() * n);

    /// <summary>Standard normal (Box–Muller).</summary>
    /// <returns>The value.</returns>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A new child generator seeded from this one (independent streams for workers).</summary>
    /// <returns>The child.</returns>
    public Generator Fork() => new(NextUInt64());
}
