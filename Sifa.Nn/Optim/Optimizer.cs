using System.Globalization;
using Sifa.Autograd;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Nn.Optim;

/// <summary>
/// An optimizer's resumable state: tensors (per-parameter buffers, keyed <c>state.{i}.{name}</c> with <c>i</c> the
/// parameter's index over all groups in order, as in PyTorch) and exact scalar values as invariant strings
/// (hyper-parameters, per-group learning rates, step counts). It saves as one safetensors file with the values in
/// the metadata.
/// </summary>
public sealed class OptimizerState
{
    /// <summary>Tensors by key.</summary>
    public OrderedDictionary<string, NamedTensor> Tensors { get; } = new();

    /// <summary>Scalar values by key (doubles round-trip exactly as "R" strings).</summary>
    public Dictionary<string, string> Values { get; } = new();

    /// <summary>Writes the state as safetensors (values in <c>__metadata__</c>).</summary>
    /// <param name="path">The file.</param>
    public void Save(string path) => SafeTensors.Write(path, Tensors, Values);

    /// <summary>Reads a state written by <see cref="Save"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The state.</returns>
    public static OptimizerState Load(string path)
    {
        var c = SafeTensors.Read(path);
        var s = new OptimizerState();
        foreach (var (k, v) in c.Tensors) s.Tensors.Add(k, v);
        foreach (var (k, v) in c.Metadata) s.Values[k] = v;
        return s;
    }

    internal static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    internal double GetDouble(string key) => double.Parse(Get(key), CultureInfo.InvariantCulture);

    internal long GetLong(string key) => long.Parse(Get(key), CultureInfo.InvariantCulture);

    internal string Get(string key) =>
        Values.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"optimizer state has no value '{key}'");
}

/// <summary>
/// Base of the optimizers: parameter groups, <see cref="ZeroGrad"/>, <see cref="Step"/> (parameters whose Grad is
/// null are skipped) and resumable state. Each update is one fused op of the parameter's backend, and the
/// per-parameter state lives on the parameter's device.
/// </summary>
public abstract class Optimizer
{
    private readonly List<ParamGroup> _groups;
    private readonly List<Variable> _flat = new();

    /// <summary>Sets up the groups, resolving their unset settings from the defaults.</summary>
    /// <param name="groups">The groups (a parameter may appear in only one).</param>
    /// <param name="lr">Default learning rate.</param>
    /// <param name="weightDecay">Default weight decay.</param>
    protected Optimizer(IEnumerable<ParamGroup> groups, double lr, double weightDecay)
    {
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), $"invalid learning rate {lr}");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"invalid weight decay {weightDecay}");
        _groups = groups.ToList();
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var g in _groups)
        {
            g.Resolve(lr, weightDecay);
            foreach (var p in g.Parameters)
            {
                if (!seen.Add(p)) throw new ArgumentException($"parameter '{p.Name ?? "?"}' appears in more than one parameter group");
                _flat.Add(p);
            }
        }
    }

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParamGroup> Groups => _groups;

    /// <summary>Every parameter over all groups, in order (index <c>i</c> of the state keys).</summary>
    public IReadOnlyList<Variable> Parameters => _flat;

    /// <summary>The number of <see cref="Step"/> calls made (restored by <see cref="LoadStateDict"/>).</summary>
    public long StepCount { get; private set; }

    /// <summary>Sets the learning rate of every group (and makes it their initial one).</summary>
    /// <param name="lr">The learning rate.</param>
    public void SetLr(double lr)
    {
        foreach (var g in _groups) { g.Lr = lr; g.InitialLr = lr; }
    }

    /// <summary>Clears every parameter's gradient (sets it to null).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _flat) p.Grad = null;
    }

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step()
    {
        using var _ = GradMode.NoGrad();
        using var __ = TensorScope.Suspend(); // optimizer state created here outlives the caller's step scope
        int i = 0;
        foreach (var g in _groups)
            foreach (var p in g.Parameters)
            {
                if (p.Grad != null)
                {
                    if (!p.Grad.Shape.AsSpan().SequenceEqual(p.Data.Shape))
                        throw new InvalidOperationException($"parameter '{p.Name ?? i.ToString(CultureInfo.InvariantCulture)}' has a gradient of shape {Tensor.Fmt(p.Grad.Shape)} for values of shape {Tensor.Fmt(p.Data.Shape)}");
                    // The fused backend ops take dense tensors; a strided parameter is updated through a dense copy.
                    var data = p.Data;
                    var dense = data.Contiguous();
                    Update(i, dense, p.Grad.Contiguous(), g);
                    if (!ReferenceEquals(dense, data)) data.CopyFrom(dense);
                }
                i++;
            }
        StepCount++;
    }

    /// <summary>Updates one parameter.</summary>
    /// <param name="index">Its index over all groups.</param>
    /// <param name="param">The parameter's values (dense; updated in place).</param>
    /// <param name="grad">Its gradient (dense, same shape and device).</param>
    /// <param name="group">Its group.</param>
    protected abstract void Update(int index, Tensor param, Tensor grad, ParamGroup group);

    /// <summary>The optimizer's name, stored in its state and checked on load.</summary>
    protected abstract string Kind { get; }

    /// <summary>Adds the optimizer-specific hyper-parameters and per-parameter state.</summary>
    /// <param name="state">The state being built.</param>
    protected abstract void SaveState(OptimizerState state);

    /// <summary>Validates the optimizer-specific part of a state without changing anything; throws on a problem.</summary>
    /// <param name="state">The state.</param>
    protected abstract void ValidateState(OptimizerState state);

    /// <summary>Replaces the optimizer-specific hyper-parameters and per-parameter state (already validated).</summary>
    /// <param name="state">The state.</param>
    protected abstract void RestoreState(OptimizerState state);

    /// <summary>
    /// The resumable state: hyper-parameters, each group's lr / weight decay / initial lr, step counts and the
    /// per-parameter buffers. The tensors are the live buffers (not copies); save them before stepping again.
    /// </summary>
    /// <returns>The state.</returns>
    public OptimizerState StateDict()
    {
        var s = new OptimizerState();
        s.Values["optimizer"] = Kind;
        s.Values["step_count"] = StepCount.ToString(CultureInfo.InvariantCulture);
        s.Values["groups"] = _groups.Count.ToString(CultureInfo.InvariantCulture);
        for (int g = 0; g < _groups.Count; g++)
        {
            var grp = _groups[g];
            s.Values[$"group.{g}.size"] = grp.Parameters.Count.ToString(CultureInfo.InvariantCulture);
            s.Values[$"group.{g}.name"] = grp.Name;
            s.Values[$"group.{g}.lr"] = OptimizerState.D(grp.Lr);
            s.Values[$"group.{g}.initial_lr"] = OptimizerState.D(grp.InitialLr);
            s.Values[$"group.{g}.weight_decay"] = OptimizerState.D(grp.WeightDecay);
        }
        SaveState(s);
        return s;
    }

    /// <summary>
    /// Restores a state from <see cref="StateDict"/> (of an optimizer of the same kind over parameters of the same
    /// group sizes and shapes). Everything is validated first; on any problem it throws and changes nothing. The
    /// tensors are copied, never aliased.
    /// </summary>
    /// <param name="state">The state.</param>
    public void LoadStateDict(OptimizerState state)
    {
        using var _ = TensorScope.Suspend();
        var kind = state.Get("optimizer");
        if (kind != Kind) throw new InvalidDataException($"optimizer state is for {kind}, not {Kind}");
        int ng = (int)state.GetLong("groups");
        if (ng != _groups.Count) throw new InvalidDataException($"optimizer state has {ng} parameter groups, this optimizer {_groups.Count}");
        for (int g = 0; g < ng; g++)
        {
            long n = state.GetLong($"group.{g}.size");
            if (n != _groups[g].Parameters.Count)
                throw new InvalidDataException($"optimizer state group {g} has {n} parameters, this optimizer's {_groups[g].Parameters.Count}");
            state.GetDouble($"group.{g}.lr"); state.GetDouble($"group.{g}.initial_lr"); state.GetDouble($"group.{g}.weight_decay");
        }
        long steps = state.GetLong("step_count");
        foreach (var (k, v) in state.Tensors)
        {
            var parts = k.Split('.');
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= _flat.Count)
                throw new InvalidDataException($"optimizer state has an unknown tensor '{k}'");
            if (!v.Tensor.Shape.AsSpan().SequenceEqual(_flat[i].Data.Shape))
                throw new InvalidDataException($"optimizer state tensor '{k}' has shape {Tensor.Fmt(v.Tensor.Shape)}, parameter {i} ('{_flat[i].Name}') has {Tensor.Fmt(_flat[i].Data.Shape)}");
        }
        ValidateState(state);

        for (int g = 0; g < ng; g++)
        {
            _groups[g].Lr = state.GetDouble($"group.{g}.lr");
            _groups[g].InitialLr = state.GetDouble($"group.{g}.initial_lr");
            _groups[g].WeightDecay = state.GetDouble($"group.{g}.weight_decay");
        }
        StepCount = steps;
        RestoreState(state);
    }

    /// <summary>A copy of a state tensor on the device of parameter <paramref name="index"/>, or null when absent.</summary>
    /// <param name="state">The state.</param>
    /// <param name="index">The parameter index.</param>
    /// <param name="name">The buffer name.</param>
    /// <returns>The copy.</returns>
    protected Tensor? CopyStateTensor(OptimizerState state, int index, string name) =>
        state.Tensors.TryGetValue($"state.{index}.{name}", out var t)
            ? Tensor.Zeros(_flat[index].Data.Shape, _flat[index].Data.Device).CopyFrom(t.Tensor)
            : null;
}
