namespace MoR.Adapters;

/// <summary>DoRA's hyper-parameters: LoRA's (docs/METHODS.md, DoRA).</summary>
public sealed record DoRAConfig : AdapterConfig
{
    /// <inheritdoc/>
    protected override AdapterMethod Owner => DoRAMethod.Instance;
}
