using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// What every <see cref="ILinearAdapter"/> in this library shares: its config (validated once), the adapted layer's
/// sizes and the defaults most adapters keep. Subclasses hold only their own tensors and their method's native calls.
/// </summary>
/// <typeparam name="TConfig">The method's config record.</typeparam>
public abstract class LinearAdapter<TConfig> : ILinearAdapter
    where TConfig : AdapterConfig
{
    /// <summary>Validates <paramref name="config"/> and records the adapted layer's sizes.</summary>
    protected LinearAdapter(TConfig config, int inFeatures, int outFeatures)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>The method's hyper-parameters.</summary>
    public TConfig Config { get; }

    /// <inheritdoc/>
    AdapterConfig ILinearAdapter.Config => Config;

    /// <inheritdoc/>
    public int InFeatures { get; }

    /// <inheritdoc/>
    public int OutFeatures { get; }

    /// <inheritdoc/>
    public abstract IReadOnlyList<Parameter> Parameters { get; }

    /// <inheritdoc/>
    public virtual bool ReplacesBaseBackward => false;

    /// <inheritdoc/>
    public abstract void Forward(Linear baseLayer, Tensor x, Tensor y, AdapterPass pass);

    /// <inheritdoc/>
    public abstract void Backward(Linear baseLayer, Tensor x, Tensor dy, Tensor? dx, AdapterPass pass);

    /// <inheritdoc/>
    public virtual void OnParametersChanged()
    {
    }

    /// <inheritdoc/>
    public abstract IReadOnlyList<AdapterTensor> Export();

    /// <inheritdoc/>
    public abstract void Import(IReadOnlyDictionary<string, AdapterTensor> tensors);

    /// <inheritdoc/>
    public abstract void MergeInto(Span<double> weight, IReadOnlyList<double>? gate);

    /// <inheritdoc/>
    public override string ToString() => $"{Config.Method.DisplayName} {OutFeatures}x{InFeatures} r={Config.Rank}";

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the adapter's tensors (native memory).</summary>
    protected abstract void Dispose(bool disposing);
}
