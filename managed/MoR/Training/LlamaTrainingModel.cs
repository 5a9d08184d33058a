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
    public LossResult ForwardBackward(TokenBatch batch, float gradScale, AdapterPass pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        LossResult loss = Model.ForwardBackward(batch, gradScale, pass);
        // The adapters compute their balance values in backward (from the gates their forward saved).
        if (pass.RouterBalanceWeight == 0f || gradScale == 0f)
        {
            return loss;
        }

        IRoutedAdapter[] routed = [.. Model.Linears.Values.Select(l => l.Adapter).OfType<IRoutedAdapter>()];
        return routed.Length == 0 ? loss : loss with { RouterBalanceSum = routed.Average(a => a.LastRouterBalance) };
    }

    /// <inheritdoc/>
    public LossResult Evaluate(TokenBatch batch) => Model.Evaluate(batch);
}
