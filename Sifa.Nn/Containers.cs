using System.Collections;
using Sifa.Autograd;

namespace Sifa.Nn;

/// <summary>An indexed list of child modules named <c>"0"</c>, <c>"1"</c>, … (PyTorch's <c>nn.ModuleList</c>).</summary>
/// <typeparam name="T">The element type.</typeparam>
public class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = new();

    /// <summary>Creates a list holding <paramref name="modules"/>.</summary>
    /// <param name="modules">The initial modules.</param>
    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Creates a list holding <paramref name="modules"/>.</summary>
    /// <param name="modules">The initial modules.</param>
    public ModuleList(params T[] modules) : this((IEnumerable<T>)modules) { }

    /// <summary>Appends a module under the next index.</summary>
    /// <param name="module">The module.</param>
    /// <returns>The module.</returns>
    public T Add(T module)
    {
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return module;
    }

    /// <summary>The module at an index.</summary>
    /// <param name="index">The index.</param>
    public T this[int index] => _items[index];

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A list of arbitrary modules named <c>"0"</c>, <c>"1"</c>, … (PyTorch's <c>nn.ModuleList</c>).</summary>
public sealed class ModuleList : ModuleList<Module>
{
    /// <summary>Creates a list holding <paramref name="modules"/>.</summary>
    /// <param name="modules">The initial modules.</param>
    public ModuleList(params Module[] modules) : base(modules) { }

    /// <summary>Creates a list holding <paramref name="modules"/>.</summary>
    /// <param name="modules">The initial modules.</param>
    public ModuleList(IEnumerable<Module> modules) : base(modules) { }
}

/// <summary>Single-input modules applied in order, children named <c>"0"</c>, <c>"1"</c>, … (PyTorch's <c>nn.Sequential</c>).</summary>
public sealed class Sequential : Module, IForward, IReadOnlyList<Module>
{
    private readonly List<Module> _items = new();

    /// <summary>Creates the chain; every module must implement <see cref="IForward"/>.</summary>
    /// <param name="modules">The modules, in application order.</param>
    public Sequential(params Module[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module (it must implement <see cref="IForward"/>).</summary>
    /// <param name="module">The module.</param>
    /// <returns>This chain.</returns>
    public Sequential Add(Module module)
    {
        if (module is not IForward)
            throw new ArgumentException($"Sequential needs single-input modules (IForward); {module.GetType().Name} is not one");
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return this;
    }

    /// <summary>The module at an index.</summary>
    /// <param name="index">The index.</param>
    public Module this[int index] => _items[index];

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>Applies each module in turn.</summary>
    /// <param name="x">The input.</param>
    /// <returns>The last module's output.</returns>
    public Variable Forward(Variable x)
    {
        foreach (var m in _items) x = ((IForward)m).Forward(x);
        return x;
    }

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
