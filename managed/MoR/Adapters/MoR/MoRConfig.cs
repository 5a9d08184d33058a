namespace MoR.Adapters;

/// <summary>MoR's hyper-parameters: shared rank, experts, router (docs/METHODS.md, MoR).</summary>
public sealed record MoRConfig : RoutedAdapterConfig
{
    /// <inheritdoc/>
    protected override AdapterMethod Owner => MoRMethod.Instance;
}
