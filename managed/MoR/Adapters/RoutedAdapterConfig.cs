namespace MoR.Adapters;

/// <summary>
/// The hyper-parameters of a method whose experts a dense softmax router mixes (MoR, MoE-LoRA): the number of experts,
/// how the router starts, and the weight of the router balance term (docs/METHODS.md, MoR.6).
/// </summary>
public abstract record RoutedAdapterConfig : AdapterConfig
{
    /// <summary>The most experts a config accepts: far beyond any mixture of experts in use.</summary>
    public const int MaxExperts = 1 << 16;

    /// <summary>N, the number of experts.</summary>
    public int Experts { get; init; } = 8;

    /// <summary>How the router W_g starts: N(0, 0.02²) or zeros (uniform gates at step 0).</summary>
    public RouterInit RouterInit { get; init; } = RouterInit.Normal;

    /// <summary>
    /// α of the router load-balancing term (0 = off, the paper's plain softmax router): the objective gains α·(mean over
    /// routed layers of N·Σ_i P_i²), P_i the mean gate of expert i over a micro-batch. Switch Transformer used 0.01.
    /// </summary>
    public float RouterBalanceLoss { get; init; }

    /// <inheritdoc/>
    public override string FormatSizes() => $"{base.FormatSizes()}, experts = {Experts}";

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(Experts is >= 1 and <= MaxExperts, $"experts must be in [1, {MaxExperts}]; got {Experts}.");
        Require(float.IsFinite(RouterBalanceLoss) && RouterBalanceLoss >= 0, $"router balance loss must be a number >= 0; got {RouterBalanceLoss}.");
    }
}
