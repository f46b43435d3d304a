namespace Sifa.Nn.Optim;

/// <summary>
/// Linear warm-up then cosine decay, counted in optimizer steps (SPEC section 2):
/// <c>lr(s) = base·s/warmup</c> for <c>s &lt; warmup</c>, then <c>base·0.5·(1 + cos(π(s - warmup)/(total - warmup)))</c>,
/// and 0 from <c>s = total</c> on. <c>s</c> is the number of optimizer steps already taken, so the update number
/// <c>s + 1</c> uses <c>lr(s)</c> (PyTorch's LambdaLR convention). Each group's base is its <see cref="ParamGroup.InitialLr"/>.
/// Two options give the official SIFA schedule (its <c>GradualWarmupScheduler</c> + <c>CosineAnnealingLR</c>): a warm-up
/// that starts from <c>base·startFactor</c> (<c>base·(f + (1 - f)·s/warmup)</c>; official f = 1/100) and a floor
/// <c>minLr</c> the cosine decays to (<c>minLr + (base - minLr)·0.5·(1 + cos(…))</c>, <c>minLr</c> from <c>s = total</c> on;
/// official 1e-6). With both 0 the rates are bit for bit those of the plain formula.
/// </summary>
public sealed class CosineSchedule
{
    private readonly Optimizer _optimizer;
    private long _step;

    /// <summary>Creates the schedule and sets every group's lr to its value at step 0.</summary>
    /// <param name="optimizer">The optimizer whose groups it drives.</param>
    /// <param name="warmupSteps">Warm-up steps (0 for none).</param>
    /// <param name="totalSteps">Total steps (&gt; warm-up).</param>
    public CosineSchedule(Optimizer optimizer, long warmupSteps, long totalSteps) : this(optimizer, warmupSteps, totalSteps, 0, 0) { }

    /// <summary>Creates the schedule with a warm-up start factor and a floor, and sets every group's lr to its value at step 0.</summary>
    /// <param name="optimizer">The optimizer whose groups it drives.</param>
    /// <param name="warmupSteps">Warm-up steps (0 for none).</param>
    /// <param name="totalSteps">Total steps (&gt; warm-up).</param>
    /// <param name="warmupStartFactor">The warm-up starts at <c>base·factor</c>, in [0, 1).</param>
    /// <param name="minLr">The rate the cosine decays to (≥ 0; every group's floor).</param>
    public CosineSchedule(Optimizer optimizer, long warmupSteps, long totalSteps, double warmupStartFactor, double minLr)
    {
        if (warmupSteps < 0 || totalSteps <= warmupSteps)
            throw new ArgumentException($"cosine schedule needs 0 ≤ warmup ({warmupSteps}) < total ({totalSteps})");
        if (!(warmupStartFactor is >= 0 and < 1)) throw new ArgumentException($"warm-up start factor must be in [0, 1), got {warmupStartFactor}");
        if (!(minLr >= 0) || !double.IsFinite(minLr)) throw new ArgumentException($"minimum lr must be a finite number ≥ 0, got {minLr}");
        _optimizer = optimizer;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        WarmupStartFactor = warmupStartFactor;
        MinLr = minLr;
        Apply();
    }

    /// <summary>The warm-up starts at <c>base·WarmupStartFactor</c>.</summary>
    public double WarmupStartFactor { get; }

    /// <summary>The floor the cosine decays to.</summary>
    public double MinLr { get; }

    /// <summary>Warm-up steps.</summary>
    public long WarmupSteps { get; }

    /// <summary>Total steps.</summary>
    public long TotalSteps { get; }

    /// <summary>Optimizer steps taken so far; setting it (to resume) applies the learning rates for that step.</summary>
    public long StepCount
    {
        get => _step;
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(value));
            _step = value;
            Apply();
        }
    }

    /// <summary>The multiplier of the base learning rate at step <paramref name="step"/>.</summary>
    /// <param name="step">Steps taken.</param>
    /// <param name="warmup">Warm-up steps.</param>
    /// <param name="total">Total steps.</param>
    /// <returns>The factor in [0, 1].</returns>
    public static double Factor(long step, long warmup, long total)
    {
        if (step < warmup) return (double)step / warmup;
        if (step >= total) return 0.0;
        return 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / (total - warmup)));
    }

    /// <summary>The learning rate at step <paramref name="step"/> for base rate <paramref name="baseLr"/>.</summary>
    /// <param name="baseLr">The base rate.</param>
    /// <param name="step">Steps taken.</param>
    /// <param name="warmup">Warm-up steps.</param>
    /// <param name="total">Total steps.</param>
    /// <returns>The rate.</returns>
    public static double LrAt(double baseLr, long step, long warmup, long total) => baseLr * Factor(step, warmup, total);

    /// <summary>The learning rate at step <paramref name="step"/> with a warm-up start factor and a floor (see the class summary).</summary>
    /// <param name="baseLr">The base rate.</param>
    /// <param name="step">Steps taken.</param>
    /// <param name="warmup">Warm-up steps.</param>
    /// <param name="total">Total steps.</param>
    /// <param name="warmupStartFactor">The warm-up starts at <c>base·factor</c>.</param>
    /// <param name="minLr">The floor of the cosine.</param>
    /// <returns>The rate.</returns>
    public static double LrAt(double baseLr, long step, long warmup, long total, double warmupStartFactor, double minLr)
    {
        if (warmupStartFactor == 0 && minLr == 0) return LrAt(baseLr, step, warmup, total); // the plain formula's exact bits
        if (step < warmup) return baseLr * (warmupStartFactor + (1 - warmupStartFactor) * step / warmup);
        if (step >= total) return minLr;
        return minLr + (baseLr - minLr) * 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / (total - warmup)));
    }

    /// <summary>The current multiplier.</summary>
    public double CurrentFactor => Factor(_step, WarmupSteps, TotalSteps);

    /// <summary>Counts one optimizer step (call after <see cref="Optimizer.Step"/>) and sets the next learning rates.</summary>
    public void Step()
    {
        _step++;
        Apply();
    }

    private void Apply()
    {
        if (WarmupStartFactor == 0 && MinLr == 0)
        {
            double f = CurrentFactor;
            foreach (var g in _optimizer.Groups) g.Lr = g.InitialLr * f;
            return;
        }
        foreach (var g in _optimizer.Groups) g.Lr = LrAt(g.InitialLr, _step, WarmupSteps, TotalSteps, WarmupStartFactor, MinLr);
    }
}
