using MoR.Adapters;
using MoR.Data;
using MoR.Model;
using MoR.Modules;

namespace MoR.Training;

/// <summary>
/// What the <see cref="Trainer"/> needs from a model: its trainable parameters, its adapters (to drop
/// parameter-derived caches after each update) and a fused forward+backward. The trainer never sees
/// layers, so it trains a LLaMA (<c>LlamaTrainingModel</c>) and the tiny test models alike.
/// </summary>
public interface ITrainingModel
{
    /// <summary>Where the parameters live.</summary>
    Device Device { get; }

    /// <summary>Every trainable parameter, always in the same order (checkpoints store them by position).</summary>
    IReadOnlyList<Parameter> TrainableParameters();

    /// <summary>The attached adapters (empty for full fine-tuning).</summary>
    IReadOnlyList<ILinearAdapter> Adapters { get; }

    /// <summary>
    /// Forward and backward over <paramref name="batch"/>: ACCUMULATES the gradients of Σ_t loss_t·<paramref name="gradScale"/>,
    /// plus those of each routed layer's balance term weighted by <see cref="AdapterPass.RouterBalanceWeight"/> (whose
    /// mean over routed layers it reports in <see cref="LossResult.RouterBalanceSum"/>), with the pass's adapter dropout.
    /// </summary>
    LossResult ForwardBackward(TokenBatch batch, float gradScale, AdapterPass pass);

    /// <summary>The loss over <paramref name="batch"/> without touching gradients.</summary>
    LossResult Evaluate(TokenBatch batch);
}
