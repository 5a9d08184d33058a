using System.Text.Json.Nodes;
using MoR.Modules;

namespace MoR.Adapters;

/// <summary>DoRA (weight-decomposed LoRA, PEFT semantics): PEFT's <c>LORA</c> type with <c>use_dora: true</c>.</summary>
public sealed class DoRAMethod : AdapterMethod
{
    private DoRAMethod()
    {
    }

    /// <summary>The registered instance.</summary>
    public static DoRAMethod Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "dora";

    /// <inheritdoc/>
    public override string DisplayName => "DoRA";

    /// <inheritdoc/>
    public override Type ConfigType => typeof(DoRAConfig);

    /// <inheritdoc/>
    public override AdapterConfig DefaultConfig { get; } = new DoRAConfig();

    /// <inheritdoc/>
    /// <remarks>The row norm is a constant in backward (docs/METHODS.md, DoRA.2), so A's and B's gradients are not the derivative through it.</remarks>
    public override IReadOnlyList<string> DetachedGradients { get; } = ["lora_A", "lora_B"];

    /// <inheritdoc/>
    public override bool Recognises(PeftConfigReader file) => file.PeftType == "LORA" && file.Bool("use_dora") == true;

    /// <inheritdoc/>
    public override AdapterConfig ReadPeft(PeftConfigReader file) =>
        file.Bool("use_mora") == true
            ? throw file.Error("use_dora", "and use_mora cannot both be true")
            : file.ReadCommon(new DoRAConfig());

    /// <inheritdoc/>
    public override void WritePeft(AdapterConfig config, IDictionary<string, JsonNode?> fields) => fields["use_dora"] = true;

    /// <inheritdoc/>
    public override ILinearAdapter Create(AdapterConfig config, Linear baseLayer, ulong seed) => new DoRAAdapter(baseLayer, (DoRAConfig)config, seed);

    /// <inheritdoc/>
    public override IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterConfig config, long inFeatures, long outFeatures) =>
        [("lora_A.weight", [config.Rank, inFeatures]), ("lora_B.weight", [outFeatures, config.Rank]), ("lora_magnitude_vector", [outFeatures])];

    /// <inheritdoc/>
    public override AdapterFootprint Footprint(AdapterConfig config, double inFeatures, double outFeatures)
    {
        double r = config.Rank, parameters = (r * (inFeatures + outFeatures)) + outFeatures;
        // Buffers: ‖W_j‖² and the row norms n. Saved: h and the pre-scale output U. Backward's scratch: dU and dh per
        // token, and the norm's W·Aᵀ and A·Aᵀ temporaries (about the parameters' size).
        return new(
            Parameters: parameters, Buffers: 2 * outFeatures, SavedPerToken: r + outFeatures, ScratchPerToken: outFeatures + r,
            ScratchFixed: parameters, ForwardFlopsPerToken: 2 * r * (inFeatures + outFeatures));
    }
}
