using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// What every <see cref="ILinearAdapter"/> in this library shares: its options (validated once), the adapted
/// layer's sizes, the dropout key and the defaults most adapters keep. Subclasses hold only their own tensors
/// and the native calls of their method.
/// </summary>
public abstract class LinearAdapter : ILinearAdapter
{
    /// <summary>Validates <paramref name="options"/> and records the adapted layer's sizes.</summary>
    protected LinearAdapter(AdapterOptions options, int inFeatures, int outFeatures)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <inheritdoc/>
    public abstract AdapterKind Kind { get; }

    /// <inheritdoc/>
    public AdapterOptions Options { get; }

    /// <inheritdoc/>
    public int InFeatures { get; }

    /// <inheritdoc/>
    public int OutFeatures { get; }

    /// <inheritdoc/>
    public abstract IReadOnlyList<Parameter> Parameters { get; }

    /// <inheritdoc/>
    public ulong? DropoutSeed { get; set; }

    /// <inheritdoc/>
    public virtual bool ReplacesBaseBackward => false;

    /// <inheritdoc/>
    public abstract void Forward(Linear baseLayer, Tensor x, Tensor y);

    /// <inheritdoc/>
    public abstract void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx);

    /// <inheritdoc/>
    public virtual void OnParametersChanged()
    {
    }

    /// <inheritdoc/>
    public abstract IReadOnlyList<AdapterTensor> Export();

    /// <inheritdoc/>
    public abstract void Import(IReadOnlyDictionary<string, AdapterTensor> tensors);

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the adapter's tensors (native memory).</summary>
    protected abstract void Dispose(bool disposing);
}
