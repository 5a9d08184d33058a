namespace MoR.Adapters;

/// <summary>
/// MELoRA's hyper-parameters (docs/METHODS.md, MELoRA): n mini LoRAs of rank r on the block diagonal, each scaled by
/// α / r. The update's rank reaches n·r with the parameters of one rank-r LoRA.
/// </summary>
public sealed record MELoRAConfig : AdapterConfig
{
    /// <summary>The most mini LoRAs a config accepts.</summary>
    public const int MaxBlocks = 1 << 16;

    /// <summary>n, the number of mini LoRAs (the authors' recipe for LLaMA uses 8 of rank 1).</summary>
    public int Blocks { get; init; } = 8;

    /// <inheritdoc/>
    protected override AdapterMethod Owner => MELoRAMethod.Instance;

    /// <inheritdoc/>
    public override string FormatSizes() => $"{base.FormatSizes()}, blocks = {Blocks}";

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        Require(Blocks is >= 1 and <= MaxBlocks, $"blocks must be in [1, {MaxBlocks}]; got {Blocks}.");
    }

    /// <summary>
    /// The mini blocks' widths for a <paramref name="inFeatures"/> → <paramref name="outFeatures"/> layer: p = ⌊d_in/n⌋
    /// inputs and q = ⌊d_out/n⌋ outputs each (features past n·p and n·q are not adapted).
    /// </summary>
    /// <exception cref="ArgumentException">A block would be empty (n exceeds d_in or d_out).</exception>
    public (int P, int Q) BlockSizes(long inFeatures, long outFeatures) =>
        Blocks <= inFeatures && Blocks <= outFeatures
            ? ((int)(inFeatures / Blocks), (int)(outFeatures / Blocks))
            : throw new ArgumentException($"MELoRA with {Blocks} blocks needs at least {Blocks} inputs and outputs; this layer is {outFeatures}x{inFeatures}.");
}
