namespace MoR.Adapters;

/// <summary>
/// What one forward/backward pass tells every adapter, passed explicitly rather than pushed into adapters beforehand:
/// the dropout key of a training pass (null: no dropout — evaluation, generation) and the weight of each routed
/// layer's router balance term in the loss being differentiated (0: none).
/// </summary>
/// <param name="DropoutSeed">The pass's key, from (seed, step, micro-batch); each module mixes in its path, so masks never depend on hidden state.</param>
/// <param name="RouterBalanceWeight">w of each routed layer's term N·Σ_i P_i² (docs/METHODS.md, MoR.6); already divided by the routed layer count.</param>
public sealed record AdapterPass(ulong? DropoutSeed, float RouterBalanceWeight)
{
    /// <summary>No dropout, no balance term: evaluation and generation.</summary>
    public static AdapterPass Inference { get; } = new(null, 0f);

    /// <summary>The dropout key of the adapter on <paramref name="module"/> in this pass, or null.</summary>
    public ulong? DropoutKey(string module) => DropoutSeed is ulong s ? AdapterDropout.Key(s, AdapterDropout.Hash(module)) : null;
}
