namespace MoR.Adapters;

/// <summary>LoRA's hyper-parameters: rank, alpha, dropout and targets (docs/METHODS.md, LoRA).</summary>
public sealed record LoRAConfig : AdapterConfig
{
    /// <inheritdoc/>
    protected override AdapterMethod Owner => LoRAMethod.Instance;
}
