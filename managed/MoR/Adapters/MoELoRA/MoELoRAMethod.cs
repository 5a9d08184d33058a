using MoR.Modules;

namespace MoR.Adapters;

/// <summary>A dense mixture of LoRA experts with a softmax router: <c>peft_type</c> <c>MOE_LORA</c> with <c>num_experts</c>.</summary>
public sealed class MoELoRAMethod : RoutedAdapterMethod<MoELoRAConfig>
{
    private MoELoRAMethod()
    {
    }

    /// <summary>The registered instance.</summary>
    public static MoELoRAMethod Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "moe-lora";

    /// <inheritdoc/>
    public override string PeftType => "MOE_LORA";

    /// <inheritdoc/>
    public override string DisplayName => "MoE-LoRA";

    /// <inheritdoc/>
    public override ILinearAdapter Create(AdapterConfig config, Linear baseLayer, ulong seed) =>
        new MoELoRAAdapter(baseLayer.Weight.Device, baseLayer.InFeatures, baseLayer.OutFeatures, (MoELoRAConfig)config, seed);

    /// <inheritdoc/>
    public override IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterConfig config, long inFeatures, long outFeatures)
    {
        long r = config.Rank, n = ((MoELoRAConfig)config).Experts;
        return [("moe_lora_A", [n, r, inFeatures]), ("moe_lora_B", [n, outFeatures, r]), ("moe_router.weight", [n, inFeatures])];
    }

    /// <inheritdoc/>
    public override AdapterFootprint Footprint(AdapterConfig config, double inFeatures, double outFeatures)
    {
        double r = config.Rank, n = ((MoELoRAConfig)config).Experts;
        // Saved: [H | Z] and g. Backward's scratch: P and dP, and [dH | dZ].
        return new(
            Parameters: (n * r * (inFeatures + outFeatures)) + (n * inFeatures), Buffers: 0, SavedPerToken: (n * r) + n + n,
            ScratchPerToken: (2 * n * r) + (n * r) + n, ScratchFixed: 0,
            ForwardFlopsPerToken: (2 * n * r * (inFeatures + outFeatures)) + (2 * n * inFeatures));
    }
}
