using Sifa.Autograd;
using Sifa.Tensors;
using Sifa.Tensors.IO;

namespace Sifa.Nn;

/// <summary>A layer with one input and one output; <see cref="Sequential"/> chains these.</summary>
public interface IForward
{
    /// <summary>Computes the layer's output.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The output.</returns>
    Variable Forward(Variable x);
}

/// <summary>
/// A registered buffer: state that is not trained (running statistics, index tables). Layers keep the
/// <see cref="ModuleBuffer"/> object and read <see cref="Tensor"/> at use, so moving a module to another device
/// (which replaces the tensor) stays visible to them.
/// </summary>
public sealed class ModuleBuffer
{
    internal ModuleBuffer(string localName, Tensor tensor, bool persistent, string dtype)
    {
        LocalName = localName;
        Tensor = tensor;
        Persistent = persistent;
        DType = dtype;
        Name = localName;
    }

    /// <summary>The name inside its owning module (<c>running_mean</c>).</summary>
    public string LocalName { get; }

    /// <summary>The full state-dict key (<c>layer1.0.bn1.running_mean</c>) once the owner is attached to its parents.</summary>
    public string Name { get; internal set; }

    /// <summary>The values. Ops update them in place; loading a state dict copies into this tensor.</summary>
    public Tensor Tensor { get; set; }

    /// <summary>Whether the buffer is part of the state dict (non-persistent buffers are derived, e.g. attention masks).</summary>
    public bool Persistent { get; }

    /// <summary>The dtype the buffer is saved as: <c>"F32"</c> or <c>"I64"</c> (values are held as float32 either way).</summary>
    public string DType { get; }
}

/// <summary>
/// Base class of every layer and model, in the style of PyTorch's <c>nn.Module</c>: named parameters,
/// buffers and children registered in order, giving PyTorch state-dict keys (<c>layer1.0.conv1.weight</c>);
/// training / evaluation mode; state dicts and safetensors checkpoints.
/// </summary>
/// <remarks>
/// A subclass registers its state in its constructor with <see cref="RegisterParameter(string, Tensor)"/>,
/// <see cref="RegisterBuffer"/> and <see cref="RegisterModule{T}"/>. Registering a name again replaces the
/// entry in place (keeping its position), like assigning an attribute of a PyTorch module.
/// </remarks>
public abstract class Module
{
    private readonly List<(string Name, Variable Param)> _params = new();
    private readonly List<ModuleBuffer> _buffers = new();
    private readonly List<(string Name, Module Child)> _children = new();
    private string _prefix = "";

    /// <summary>True in training mode (the default), false in evaluation mode.</summary>
    public bool IsTraining { get; private set; } = true;

    // ---------------------------------------------------------------- registration

    /// <summary>Registers a trainable parameter (RequiresGrad = true) holding <paramref name="value"/>.</summary>
    /// <param name="name">Local name (no dots).</param>
    /// <param name="value">Its initial value (kept, not copied).</param>
    /// <returns>The parameter.</returns>
    protected Variable RegisterParameter(string name, Tensor value) => RegisterParameter(name, new Variable(value, requiresGrad: true));

    /// <summary>Registers an existing variable as a parameter (e.g. one shared with another module).</summary>
    /// <param name="name">Local name (no dots).</param>
    /// <param name="param">The variable; its RequiresGrad is set to true.</param>
    /// <returns>The parameter.</returns>
    protected Variable RegisterParameter(string name, Variable param)
    {
        CheckName(name);
        if (_buffers.Any(b => b.LocalName == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"'{_prefix}{name}' is already registered as a buffer or child module");
        param.RequiresGrad = true;
        param.Name = _prefix + name;
        int i = _params.FindIndex(p => p.Name == name);
        if (i >= 0) _params[i] = (name, param); else _params.Add((name, param));
        return param;
    }

    /// <summary>Registers a buffer.</summary>
    /// <param name="name">Local name (no dots).</param>
    /// <param name="value">Its value (kept, not copied).</param>
    /// <param name="persistent">Whether it is saved in the state dict.</param>
    /// <param name="dtype">The dtype it is saved as: <c>"F32"</c> or <c>"I64"</c>.</param>
    /// <returns>The buffer.</returns>
    protected ModuleBuffer RegisterBuffer(string name, Tensor value, bool persistent = true, string dtype = "F32")
    {
        CheckName(name);
        if (dtype != "F32" && dtype != "I64") throw new ArgumentException($"buffer '{_prefix}{name}': dtype must be F32 or I64, not '{dtype}'");
        if (_params.Any(p => p.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"'{_prefix}{name}' is already registered as a parameter or child module");
        var b = new ModuleBuffer(name, value, persistent, dtype) { Name = _prefix + name };
        int i = _buffers.FindIndex(x => x.LocalName == name);
        if (i >= 0) _buffers[i] = b; else _buffers.Add(b);
        return b;
    }

    /// <summary>Registers a child module; its parameters and buffers are then named <c>name.…</c>, and it takes this
    /// module's training / evaluation mode.</summary>
    /// <typeparam name="T">The child's type.</typeparam>
    /// <param name="name">Local name (no dots).</param>
    /// <param name="child">The child.</param>
    /// <returns>The child.</returns>
    protected T RegisterModule<T>(string name, T child) where T : Module
    {
        CheckName(name);
        if (ReferenceEquals(child, this)) throw new ArgumentException("a module cannot be its own child");
        if (_params.Any(p => p.Name == name) || _buffers.Any(b => b.LocalName == name))
            throw new ArgumentException($"'{_prefix}{name}' is already registered as a parameter or buffer");
        int i = _children.FindIndex(c => c.Name == name);
        if (i >= 0) _children[i] = (name, child); else _children.Add((name, child));
        child.SetPrefix(_prefix + name + ".");
        child.Train(IsTraining);
        return child;
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"invalid module entry name '{name}': must be non-empty and contain no '.'");
    }

    private void SetPrefix(string prefix)
    {
        _prefix = prefix;
        foreach (var (n, p) in _params) p.Name = prefix + n;
        foreach (var b in _buffers) b.Name = prefix + b.LocalName;
        foreach (var (n, c) in _children) c.SetPrefix(prefix + n + ".");
    }

    // ---------------------------------------------------------------- traversal

    /// <summary>This module's own parameters (not its children's), by local name, in registration order.</summary>
    /// <returns>The parameters.</returns>
    public IEnumerable<(string Name, Variable Parameter)> LocalParameters() => _params.ToList();

    /// <summary>This module's own buffers (not its children's), in registration order.</summary>
    /// <returns>The buffers.</returns>
    public IEnumerable<ModuleBuffer> LocalBuffers() => _buffers.ToList();

    /// <summary>The direct children, by name, in registration order.</summary>
    /// <returns>The children.</returns>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.ToList();

    /// <summary>This module (key <c>""</c>) and every descendant, pre-order, with dot-separated keys (<c>layer1.0.conv1</c>).</summary>
    /// <param name="prefix">Prefix of the keys (as if this module were attached under it).</param>
    /// <returns>The modules.</returns>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, c) in _children.ToList())
            foreach (var x in c.NamedModules(prefix.Length == 0 ? n : prefix + "." + n))
                yield return x;
    }

    /// <summary>Every parameter with its state-dict key relative to this module, in PyTorch order
    /// (each module's own parameters, then its children's, pre-order). A variable shared by two modules appears once.</summary>
    /// <returns>The parameters.</returns>
    public IEnumerable<(string Name, Variable Parameter)> NamedParameters()
    {
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var (mn, m) in NamedModules())
            foreach (var (n, p) in m._params)
                if (seen.Add(p)) yield return (Join(mn, n), p);
    }

    /// <summary>Every parameter, in <see cref="NamedParameters"/> order.</summary>
    /// <returns>The parameters.</returns>
    public IEnumerable<Variable> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer (persistent or not) with its key relative to this module, pre-order.</summary>
    /// <returns>The buffers.</returns>
    public IEnumerable<(string Name, ModuleBuffer Buffer)> NamedBuffers()
    {
        foreach (var (mn, m) in NamedModules())
            foreach (var b in m._buffers)
                yield return (Join(mn, b.LocalName), b);
    }

    /// <summary>The descendant at a dot-separated path (<c>layer1.0</c>; <c>""</c> is this module).</summary>
    /// <param name="path">The path.</param>
    /// <returns>The module.</returns>
    public Module GetSubmodule(string path)
    {
        Module m = this;
        if (path.Length == 0) return m;
        foreach (var part in path.Split('.'))
        {
            int i = m._children.FindIndex(c => c.Name == part);
            if (i < 0) throw new KeyNotFoundException($"no submodule '{path}' (missing '{part}')");
            m = m._children[i].Child;
        }
        return m;
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : a + "." + b;

    // ---------------------------------------------------------------- modes, counting, gradients, devices

    /// <summary>Sets training (true) or evaluation (false) mode on this module and every descendant.</summary>
    /// <param name="mode">True for training.</param>
    /// <returns>This module.</returns>
    public Module Train(bool mode = true)
    {
        IsTraining = mode;
        foreach (var (_, c) in _children) c.Train(mode);
        return this;
    }

    /// <summary>Sets evaluation mode on this module and every descendant (same as <c>Train(false)</c>).</summary>
    /// <returns>This module.</returns>
    public Module Eval() => Train(false);

    /// <summary>The number of parameter values.</summary>
    /// <param name="trainableOnly">Count only parameters that require grad.</param>
    /// <returns>The count.</returns>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Data.Numel);

    /// <summary>Clears every parameter's gradient (sets it to null, like PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad = null;
    }

    /// <summary>Moves every parameter and buffer to a device (parameters keep their identity; gradients are cleared).</summary>
    /// <param name="device">The device.</param>
    /// <returns>This module.</returns>
    public Module To(Device device)
    {
        foreach (var p in Parameters())
            if (p.Data.Device != device) { p.Data = p.Data.ToDevice(device); p.Grad = null; }
        foreach (var (_, b) in NamedBuffers())
            if (b.Tensor.Device != device) b.Tensor = b.Tensor.ToDevice(device);
        return this;
    }

    // ---------------------------------------------------------------- state dict

    /// <summary>
    /// The state dict: parameters (F32) and persistent buffers (their dtype), keyed like PyTorch, in PyTorch's order
    /// (per module, pre-order: its parameters, then its persistent buffers, then its children). The tensors are the
    /// live ones, not copies: clone them for a snapshot that later training must not change.
    /// </summary>
    /// <returns>Key → tagged tensor, in order.</returns>
    public OrderedDictionary<string, NamedTensor> StateDict()
    {
        var sd = new OrderedDictionary<string, NamedTensor>();
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var (mn, m) in NamedModules())
        {
            foreach (var (n, p) in m._params)
                if (seen.Add(p)) sd.Add(Join(mn, n), new NamedTensor("F32", p.Data));
            foreach (var b in m._buffers)
                if (b.Persistent) sd.Add(Join(mn, b.LocalName), new NamedTensor(b.DType, b.Tensor));
        }
        return sd;
    }

    /// <summary>Loads plain tensors by key. See <see cref="LoadStateDict(IReadOnlyDictionary{string, NamedTensor}, bool, string?)"/>.</summary>
    /// <param name="state">Key → values.</param>
    /// <param name="strict">Throw (loading nothing) on any missing, unexpected or mis-shaped key.</param>
    /// <param name="source">Name of the source (a file) for error messages.</param>
    /// <returns>What was loaded and what did not match.</returns>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true, string? source = null) =>
        LoadCore(state.Select(kv => (kv.Key, kv.Value)).ToList(), strict, source);

    /// <summary>
    /// Loads a state dict by key, copying the values into the existing parameter and buffer tensors (so references
    /// held by layers and optimizers stay valid). Everything is validated before anything is copied, so a failed
    /// load leaves the module unchanged. With <paramref name="strict"/>, any missing key, unexpected key or shape
    /// mismatch throws a <see cref="StateDictException"/> naming every such key; without it, the matching keys are
    /// loaded and the rest (mis-shaped entries included) are only reported in the result.
    /// </summary>
    /// <param name="state">Key → tagged values (the dtype tag is not checked; values are float32).</param>
    /// <param name="strict">Throw (loading nothing) on any problem.</param>
    /// <param name="source">Name of the source (a file) for error messages.</param>
    /// <returns>What was loaded and what did not match.</returns>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, NamedTensor> state, bool strict = true, string? source = null) =>
        LoadCore(state.Select(kv => (kv.Key, kv.Value.Tensor)).ToList(), strict, source);

    private LoadResult LoadCore(List<(string Key, Tensor Value)> state, bool strict, string? source)
    {
        // The targets: every parameter and persistent buffer by key.
        var targets = new Dictionary<string, Action<Tensor>>();
        var shapes = new Dictionary<string, int[]>();
        var order = new List<string>();
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var (mn, m) in NamedModules())
        {
            foreach (var (n, p) in m._params)
            {
                if (!seen.Add(p)) continue;
                var k = Join(mn, n);
                targets[k] = v => p.Data.CopyFrom(v);
                shapes[k] = p.Data.Shape;
                order.Add(k);
            }
            foreach (var b in m._buffers)
            {
                if (!b.Persistent) continue;
                var k = Join(mn, b.LocalName);
                targets[k] = v => b.Tensor.CopyFrom(v);
                shapes[k] = b.Tensor.Shape;
                order.Add(k);
            }
        }

        var given = new HashSet<string>();
        var unexpected = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var toLoad = new List<(string Key, Tensor Value)>();
        foreach (var (k, v) in state)
        {
            given.Add(k);
            if (!shapes.TryGetValue(k, out var want)) { unexpected.Add(k); continue; }
            if (!want.AsSpan().SequenceEqual(v.Shape)) { mismatched.Add(new ShapeMismatch(k, (int[])v.Shape.Clone(), (int[])want.Clone())); continue; }
            toLoad.Add((k, v));
        }
        var missing = order.Where(k => !given.Contains(k)).ToList();
        var result = new LoadResult(toLoad.Select(t => t.Key).ToList(), missing, unexpected, mismatched);
        if (strict && !result.IsClean) throw new StateDictException(result, source);
        using (GradMode.NoGrad())
            foreach (var (k, v) in toLoad) targets[k](v);
        return result;
    }

    // ---------------------------------------------------------------- checkpoints

    /// <summary>Writes the state dict to a safetensors file (atomically), with optional string metadata.</summary>
    /// <param name="path">The file.</param>
    /// <param name="metadata">Metadata stored in the header's <c>__metadata__</c>.</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) => SafeTensors.Write(path, StateDict(), metadata);

    /// <summary>Loads a safetensors file written by <see cref="Save"/> (or any file with matching keys).
    /// Errors name the file; a strict failure loads nothing.</summary>
    /// <param name="path">The file.</param>
    /// <param name="strict">Throw on any missing, unexpected or mis-shaped key.</param>
    /// <returns>What was loaded and what did not match, with the file's metadata.</returns>
    public LoadResult Load(string path, bool strict = true)
    {
        var content = SafeTensors.Read(path);
        var r = LoadStateDict(content.Tensors, strict, path);
        return r with { Metadata = content.Metadata };
    }
}

/// <summary>A state-dict entry whose shape differs from the model's.</summary>
/// <param name="Key">The key.</param>
/// <param name="SourceShape">The shape in the state dict being loaded.</param>
/// <param name="ModelShape">The shape the model has.</param>
public sealed record ShapeMismatch(string Key, int[] SourceShape, int[] ModelShape)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key}: checkpoint {Tensor.Fmt(SourceShape)} vs model {Tensor.Fmt(ModelShape)}";
}

/// <summary>The outcome of loading a state dict.</summary>
/// <param name="LoadedKeys">Keys copied into the model.</param>
/// <param name="MissingKeys">Model keys absent from the state dict.</param>
/// <param name="UnexpectedKeys">State-dict keys the model does not have.</param>
/// <param name="MismatchedKeys">Keys present in both with different shapes (not loaded).</param>
public sealed record LoadResult(
    IReadOnlyList<string> LoadedKeys,
    IReadOnlyList<string> MissingKeys,
    IReadOnlyList<string> UnexpectedKeys,
    IReadOnlyList<ShapeMismatch> MismatchedKeys)
{
    /// <summary>The metadata of the file loaded (empty when loading from memory).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>True when every key matched.</summary>
    public bool IsClean => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && MismatchedKeys.Count == 0;

    /// <summary>A one-paragraph description of every problem key (empty when clean).</summary>
    /// <returns>The text.</returns>
    public string Describe()
    {
        var parts = new List<string>();
        if (MissingKeys.Count > 0) parts.Add($"{MissingKeys.Count} missing key(s): {string.Join(", ", MissingKeys)}");
        if (UnexpectedKeys.Count > 0) parts.Add($"{UnexpectedKeys.Count} unexpected key(s): {string.Join(", ", UnexpectedKeys)}");
        if (MismatchedKeys.Count > 0) parts.Add($"{MismatchedKeys.Count} shape mismatch(es): {string.Join("; ", MismatchedKeys)}");
        return string.Join("; ", parts);
    }
}

/// <summary>A strict state-dict load failed; nothing was loaded. The message names every problem key.</summary>
public sealed class StateDictException : SifaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="result">The problems found.</param>
    /// <param name="source">The source (a file) or null.</param>
    public StateDictException(LoadResult result, string? source)
        : base($"{(source != null ? source + ": " : "")}cannot load state dict (strict); nothing was loaded: {result.Describe()}")
    {
        Result = result;
        SourceName = source;
    }

    /// <summary>The problems found.</summary>
    public LoadResult Result { get; }

    /// <summary>The source (a file), when known.</summary>
    public string? SourceName { get; }
}
