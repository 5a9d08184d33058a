using MoR.Adapters;
using MoR.Data;
using MoR.Modules;
using MoR.Training;

namespace MoR.Experiments;

/// <summary>
/// The mean-pooling router ablation: wraps a model whose MoR routers start at zero and zeroes the router
/// rows of [A ; W_g]'s gradient after every backward, so W_g stays 0 and every gate stays exactly 1/N.
/// </summary>
/// <remarks>
/// AdamW with a zero gradient and zero moments moves nothing (and weight decay of a zero weight is zero),
/// so zeroing the gradient freezes W_g exactly. A and the other parameters train as usual.
/// </remarks>
/// <param name="inner">The model being trained (not owned).</param>
public sealed class FrozenRouterModel(ITrainingModel inner) : ITrainingModel
{
    /// <inheritdoc/>
    public Device Device => inner.Device;

    /// <inheritdoc/>
    public IReadOnlyList<ILinearAdapter> Adapters => inner.Adapters;

    /// <inheritdoc/>
    public IReadOnlyList<Parameter> TrainableParameters() => inner.TrainableParameters();

    /// <inheritdoc/>
    public void SetDropoutSeed(ulong? seed) => inner.SetDropoutSeed(seed);

    /// <inheritdoc/>
    public void SetRouterBalanceWeight(float weight) => inner.SetRouterBalanceWeight(weight);

    /// <inheritdoc/>
    public TrainingLoss ForwardBackward(TrainingBatch batch, float gradScale)
    {
        TrainingLoss loss = inner.ForwardBackward(batch, gradScale);
        foreach (MoRAdapter a in inner.Adapters.OfType<MoRAdapter>())
        {
            ZeroRouterRows(a);
        }

        return loss;
    }

    /// <inheritdoc/>
    public TrainingLoss Evaluate(TrainingBatch batch) => inner.Evaluate(batch);

    /// <summary>Zeroes rows r .. r+N-1 (W_g) of [A ; W_g]'s gradient.</summary>
    public static void ZeroRouterRows(MoRAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        float[] grad = adapter.AG.Grad.ToArray<float>();
        int start = adapter.Options.Rank * adapter.InFeatures;
        Array.Clear(grad, start, adapter.Options.Experts * adapter.InFeatures);
        adapter.AG.Grad.CopyFrom<float>(grad);
    }

    /// <summary>The router rows W_g of an adapter (host copy), to check they stayed zero.</summary>
    public static float[] RouterWeights(MoRAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        float[] ag = adapter.AG.Value.ToArray<float>();
        int start = adapter.Options.Rank * adapter.InFeatures;
        return ag.AsSpan(start, adapter.Options.Experts * adapter.InFeatures).ToArray();
    }
}
