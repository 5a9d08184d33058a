using MoR.Adapters;
using MoR.Data;
using MoR.Model;
using MoR.Modules;

namespace MoR.Training;

/// <summary>A <see cref="LlamaModel"/> seen through <see cref="ITrainingModel"/>: full fine-tuning or its attached adapters.</summary>
/// <param name="model">The model (not owned).</param>
public sealed class LlamaTrainingModel(LlamaModel model) : ITrainingModel
{
    /// <summary>The wrapped model.</summary>
    public LlamaModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    /// <inheritdoc/>
    public Device Device => Model.Device;

    /// <inheritdoc/>
    public IReadOnlyList<ILinearAdapter> Adapters => [.. Model.Linears.Values.Select(l => l.Adapter).OfType<ILinearAdapter>()];

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameters() => Model.TrainableParameters();

    /// <inheritdoc/>
    public TrainingLoss ForwardBackward(TrainingBatch batch, float gradScale) => Convert(Model.ForwardBackward(ToTokenBatch(batch), gradScale));

    /// <inheritdoc/>
    public void SetDropoutSeed(ulong? seed) => Model.DropoutSeed = seed;

    /// <inheritdoc/>
    public TrainingLoss Evaluate(TrainingBatch batch) => Convert(Model.Evaluate(ToTokenBatch(batch)));

    private static TokenBatch ToTokenBatch(TrainingBatch b)
    {
        ArgumentNullException.ThrowIfNull(b);
        return new TokenBatch(b.BatchSize, b.SeqLen, b.InputIds, b.Targets);
    }

    private static TrainingLoss Convert(LossResult r) => new(r.LossSum, r.Tokens);
}
