using System.Text.Json.Nodes;
using MoR.Modules;

namespace MoR.Adapters;

/// <summary>LoRA (Hu et al.): PEFT's own <c>LORA</c> type, so PEFT loads the files unchanged.</summary>
public sealed class LoRAMethod : AdapterMethod
{
    private LoRAMethod()
    {
    }

    /// <summary>The registered instance.</summary>
    public static LoRAMethod Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "lora";

    /// <inheritdoc/>
    public override string DisplayName => "LoRA";

    /// <inheritdoc/>
    public override Type ConfigType => typeof(LoRAConfig);

    /// <inheritdoc/>
    public override AdapterConfig DefaultConfig { get; } = new LoRAConfig();

    /// <inheritdoc/>
    public override bool Recognises(PeftConfigReader file) =>
        file.PeftType == "LORA" && file.Bool("use_dora") != true && file.Bool("use_mora") != true;

    /// <inheritdoc/>
    public override AdapterConfig ReadPeft(PeftConfigReader file) => file.ReadCommon(new LoRAConfig());

    /// <inheritdoc/>
    public override void WritePeft(AdapterConfig config, IDictionary<string, JsonNode?> fields) => fields["use_dora"] = false;

    /// <inheritdoc/>
    public override ILinearAdapter Create(AdapterConfig config, Linear baseLayer, ulong seed) =>
        new LoRAAdapter(baseLayer.Weight.Device, baseLayer.InFeatures, baseLayer.OutFeatures, (LoRAConfig)config, seed);

    /// <inheritdoc/>
    public override IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterConfig config, long inFeatures, long outFeatures) =>
        [("lora_A.weight", [config.Rank, inFeatures]), ("lora_B.weight", [outFeatures, config.Rank])];

    /// <inheritdoc/>
    public override AdapterFootprint Footprint(AdapterConfig config, double inFeatures, double outFeatures)
    {
        double r = config.Rank;
        return new(
            Parameters: r * (inFeatures + outFeatures), Buffers: 0, SavedPerToken: r, ScratchPerToken: r, ScratchFixed: 0,
            ForwardFlopsPerToken: 2 * r * (inFeatures + outFeatures));
    }
}
