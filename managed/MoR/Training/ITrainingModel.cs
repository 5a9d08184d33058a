using MoR.Adapters;
using MoR.Data;
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

    /// <summary>Forward and backward over <paramref name="batch"/>: ACCUMULATES the gradients of Σ_t loss_t·<paramref name="gradScale"/>.</summary>
    TrainingLoss ForwardBackward(TrainingBatch batch, float gradScale);

    /// <summary>
    /// Sets the adapter-dropout key of the following <see cref="ForwardBackward"/> calls (null: no dropout). The
    /// trainer derives it from (seed, step, micro-batch) so masks never depend on hidden state. Models without
    /// adapter dropout ignore it.
    /// </summary>
    void SetDropoutSeed(ulong? seed)
    {
    }

    /// <summary>
    /// Sets the weight w of the router balance term for the following <see cref="ForwardBackward"/> calls: each
    /// then also accumulates the gradient of w·B̄, B̄ = the mean over routed layers (<see cref="IRoutedAdapter"/>)
    /// of N·Σ_i P_i² (<see cref="RouterBalanceLoss"/>), and reports B̄ in <see cref="TrainingLoss.RouterBalanceSum"/>.
    /// 0 turns it off. Models without routers ignore it.
    /// </summary>
    void SetRouterBalanceWeight(float weight)
    {
    }

    /// <summary>The loss over <paramref name="batch"/> without touching gradients.</summary>
    TrainingLoss Evaluate(TrainingBatch batch);
}
