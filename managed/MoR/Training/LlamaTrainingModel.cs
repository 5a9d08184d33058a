using MoR.Adapters;
using MoR.Data;
using MoR.Model;
using MoR.Modules;

namespace MoR.Training;

/// <summary>A <see cref="LlamaModel"/> seen through <see cref="ITrainingModel"/>: full fine-tuning or its attached adapters.</summary>
/// <param name="model">The model (not owned).</param>
public sealed class LlamaTrainingModel(LlamaModel model) : ITrainingModel
{
    private float _balanceWeight;

    /// <summary>The wrapped model.</summary>
    public LlamaModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    /// <inheritdoc/>
    public Device Device => Model.Device;

    /// <inheritdoc/>
    public IReadOnlyList<ILinearAdapter> Adapters => [.. Model.Linears.Values.Select(l => l.Adapter).OfType<ILinearAdapter>()];

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameters() => Model.TrainableParameters();

    /// <inheritdoc/>
    public TrainingLoss ForwardBackward(TrainingBatch batch, float gradScale)
    {
        TrainingLoss loss = Convert(Model.ForwardBackward(ToTokenBatch(batch), gradScale));
        // The adapters compute their balance values in backward (from the gates their forward saved).
        return _balanceWeight == 0f || gradScale == 0f ? loss : loss with { RouterBalanceSum = RoutedAdapters().Average(a => a.LastRouterBalance) };
    }

    /// <inheritdoc/>
    /// <remarks>Each of the L routed layers gets weight w / L, so the term is w times the mean over layers.</remarks>
    public void SetRouterBalanceWeight(float weight)
    {
        IRoutedAdapter[] routed = RoutedAdapters();
        _balanceWeight = routed.Length == 0 ? 0f : weight;
        foreach (IRoutedAdapter adapter in routed)
        {
            adapter.RouterBalanceWeight = weight / routed.Length;
        }
    }

    /// <inheritdoc/>
    public void SetDropoutSeed(ulong? seed) => Model.DropoutSeed = seed;

    /// <inheritdoc/>
    public TrainingLoss Evaluate(TrainingBatch batch) => Convert(Model.Evaluate(ToTokenBatch(batch)));

    private IRoutedAdapter[] RoutedAdapters() => [.. Model.Linears.Values.Select(l => l.Adapter).OfType<IRoutedAdapter>()];

    private static TokenBatch ToTokenBatch(TrainingBatch b)
    {
        ArgumentNullException.ThrowIfNull(b);
        return new TokenBatch(b.BatchSize, b.SeqLen, b.InputIds, b.Targets);
    }

    private static TrainingLoss Convert(LossResult r) => new(r.LossSum, r.Tokens);
}
