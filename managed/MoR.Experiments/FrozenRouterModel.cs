using MoR.Adapters;
using MoR.Data;
using MoR.Model;
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
    /// <inheritdoc/>
    /// <inheritdoc/>
    public LossResult ForwardBackward(TokenBatch batch, float gradScale, AdapterPass pass)
    {
        LossResult loss = inner.ForwardBackward(batch, gradScale, pass);
        foreach (MoRAdapter a in inner.Adapters.OfType<MoRAdapter>())
        {
            ZeroRouterRows(a);
        }

        return loss;
    }

    /// <inheritdoc/>
    public LossResult Evaluate(TokenBatch batch) => inner.Evaluate(batch);

    /// <summary>Zeroes rows r .. r+N-1 (W_g) of [A ; W_g]'s gradient.</summary>
    public static void ZeroRouterRows(MoRAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        // On the device: the router rows of [A ; W_g]'s gradient, one fill.
        long start = (long)adapter.Config.Rank * adapter.InFeatures;
        Ops.Fill(adapter.AG.Grad, start, (long)adapter.Config.Experts * adapter.InFeatures, 0);
    }

    /// <summary>The router rows W_g of an adapter (host copy), to check they stayed zero.</summary>
    public static float[] RouterWeights(MoRAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        float[] ag = adapter.AG.Value.ToArray<float>();
        int start = adapter.Config.Rank * adapter.InFeatures;
        return ag.AsSpan(start, adapter.Config.Experts * adapter.InFeatures).ToArray();
    }
}
