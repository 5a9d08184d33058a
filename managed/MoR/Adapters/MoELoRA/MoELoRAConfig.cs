namespace MoR.Adapters;

/// <summary>MoE-LoRA's hyper-parameters: rank per expert, experts, router (docs/METHODS.md, MoE-LoRA).</summary>
public sealed record MoELoRAConfig : RoutedAdapterConfig
{
    /// <inheritdoc/>
    protected override AdapterMethod Owner => MoELoRAMethod.Instance;
}
