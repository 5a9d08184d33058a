using System.Text.Json.Nodes;
using MoR.Modules;

namespace MoR.Adapters;

/// <summary>Mixture of Ranks (Tang et al., arXiv 2410.13408): <c>peft_type</c> <c>MOR</c> with <c>num_experts</c>.</summary>
public sealed class MoRMethod : AdapterMethod
{
    private MoRMethod()
    {
    }

    /// <summary>The registered instance.</summary>
    public static MoRMethod Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "mor";

    /// <inheritdoc/>
    public override string DisplayName => "MoR";

    /// <inheritdoc/>
    public override Type ConfigType => typeof(MoRConfig);

    /// <inheritdoc/>
    public override AdapterConfig DefaultConfig { get; } = new MoRConfig();

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterOption> Options => AdapterFlags.Routed(this);

    /// <inheritdoc/>
    public override bool Recognises(PeftConfigReader file) => file.PeftType == "MOR";

    /// <inheritdoc/>
    public override AdapterConfig ReadPeft(PeftConfigReader file) => file.ReadCommon(new MoRConfig()) with
    {
        Experts = file.Int("num_experts", 1, RoutedAdapterConfig.MaxExperts) ?? throw file.Error("num_experts", "is required for MOR"),
    };

    /// <inheritdoc/>
    public override void WritePeft(AdapterConfig config, IDictionary<string, JsonNode?> fields)
    {
        fields["peft_type"] = "MOR";
        fields["num_experts"] = ((MoRConfig)config).Experts;
    }

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
