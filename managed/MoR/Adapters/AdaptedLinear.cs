using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// A frozen (or, for full fine-tuning, trainable) <see cref="Linear"/> with an optional adapter plugged in:
/// the base layer is never modified; the adapter adds its delta (PEFT's tuner-layer pattern).
/// </summary>
public sealed class AdaptedLinear : IDisposable
{
    /// <summary>Wraps <paramref name="baseLayer"/>; ownership passes to this object.</summary>
    public AdaptedLinear(Linear baseLayer, ILinearAdapter? adapter = null)
    {
        Base = baseLayer ?? throw new ArgumentNullException(nameof(baseLayer));
        Attach(adapter);
    }

    /// <summary>The base layer.</summary>
    public Linear Base { get; }

    /// <summary>The adapter, or null for a plain layer.</summary>
    public ILinearAdapter? Adapter { get; private set; }

    /// <summary>The HF module path of the base layer.</summary>
    public string Name => Base.Name;

    /// <summary>Plugs in (or, with null, removes) an adapter; the previous one is returned undisposed.</summary>
    public ILinearAdapter? Attach(ILinearAdapter? adapter)
    {
        if (adapter is not null && (adapter.InFeatures != Base.InFeatures || adapter.OutFeatures != Base.OutFeatures))
        {
            throw new ArgumentException(
                $"A {adapter.Config.Method.DisplayName} adapter for {adapter.OutFeatures}x{adapter.InFeatures} does not fit '{Name}' ({Base.OutFeatures}x{Base.InFeatures}).",
                nameof(adapter));
        }

        ILinearAdapter? previous = Adapter;
        Adapter = adapter;
        return previous;
    }

    /// <summary>y = adapted(x); overwrites y. x [T, in], y [T, out].</summary>
    public void Forward(Tensor x, Tensor y, AdapterPass pass)
    {
        Base.Forward(x, y);
        Adapter?.Forward(Base, x, y, pass);
    }

    /// <summary>Accumulates dx (when given) and every trainable gradient.</summary>
    public void Backward(Tensor x, Tensor dy, Tensor? dx, AdapterPass pass)
    {
        if (Adapter is null || !Adapter.ReplacesBaseBackward)
        {
            Base.Backward(x, dy, dx);
        }

        Adapter?.Backward(Base, x, dy, dx, pass);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Adapter?.Dispose();
        Base.Dispose();
    }
}
