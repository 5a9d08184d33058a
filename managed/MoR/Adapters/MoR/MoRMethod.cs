using MoR.Modules;

namespace MoR.Adapters;

/// <summary>Mixture of Ranks (Tang et al., arXiv 2410.13408): <c>peft_type</c> <c>MOR</c> with <c>num_experts</c>.</summary>
public sealed class MoRMethod : RoutedAdapterMethod<MoRConfig>
{
    private MoRMethod()
    {
    }

    /// <summary>The registered instance.</summary>
    public static MoRMethod Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "mor";

    /// <inheritdoc/>
    public override string PeftType => "MOR";

    /// <inheritdoc/>
    public override string DisplayName => "MoR";

    /// <inheritdoc/>
    public override ILinearAdapter Create(AdapterConfig config, Linear baseLayer, ulong seed) =>
        new MoRAdapter(baseLayer.Weight.Device, baseLayer.InFeatures, baseLayer.OutFeatures, (MoRConfig)config, seed);

    /// <inheritdoc/>
    public override IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterConfig config, long inFeatures, long outFeatures)
    {
        long r = config.Rank, n = ((MoRConfig)config).Experts;
        return
        [
            ("lora_A.weight", [r, inFeatures]), ("lora_B.weight", [outFeatures, r]), ("mor_omega_A", [n, r]),
            ("mor_omega_B", [n, outFeatures]), ("mor_router.weight", [n, inFeatures]),
        ];
    }

    /// <inheritdoc/>
    public override AdapterFootprint Footprint(AdapterConfig config, double inFeatures, double outFeatures)
    {
        double r = config.Rank, n = ((MoRConfig)config).Experts;
        // Buffer: Q = ω_B ⊙ B (d_out × N·r). Saved: [H | Z] and g. Backward's scratch: P and dP, [dH | dZ], and dQ.
        return new(
            Parameters: (r * (inFeatures + outFeatures)) + (n * (r + outFeatures)) + (n * inFeatures), Buffers: outFeatures * n * r,
            SavedPerToken: r + n + n, ScratchPerToken: (2 * n * r) + r + n, ScratchFixed: outFeatures * n * r,
            ForwardFlopsPerToken: (2 * (r + n) * inFeatures) + (2 * n * r * outFeatures));
    }
}
