using System.Text.Json.Nodes;
using MoR.Modules;

namespace MoR.Adapters;

/// <summary>
/// MELoRA (Ren et al., arXiv 2402.17263) in the layout of the authors' PEFT fork: <c>peft_type</c> <c>MELORA</c>, <c>r</c>
/// and <c>lora_alpha</c> as one entry per mini LoRA, tensors <c>lora_A.&lt;i&gt;.weight</c> and <c>lora_B.&lt;i&gt;.weight</c>.
/// </summary>
public sealed class MELoRAMethod : AdapterMethod
{
    // The keys the authors' MELoraConfig (PEFT 0.5.0) has; later PEFT keys are left out so their loader sees its own file.
    private static readonly HashSet<string> AuthorsKeys = new(StringComparer.Ordinal)
    {
        "auto_mapping", "base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode", "init_lora_weights",
        "layers_pattern", "layers_to_transform", "lora_alpha", "lora_dropout", "mode", "modules_to_save", "peft_type", "r",
        "revision", "target_modules", "task_type",
    };

    private MELoRAMethod()
    {
    }

    /// <summary>The registered instance.</summary>
    public static MELoRAMethod Instance { get; } = new();

    /// <inheritdoc/>
    public override string Name => "melora";

    /// <inheritdoc/>
    public override string DisplayName => "MELoRA";

    /// <inheritdoc/>
    public override Type ConfigType => typeof(MELoRAConfig);

    /// <inheritdoc/>
    public override AdapterConfig DefaultConfig { get; } = new MELoRAConfig();

    /// <inheritdoc/>
    public override IReadOnlyList<AdapterOption> Options =>
    [
        .. AdapterFlags.Common(this),
        AdapterOption.Int<MELoRAConfig>(
            "--blocks", "Mini LoRAs n on the block diagonal, rank r each", c => c.Blocks, (c, v) => c with { Blocks = v }, (MELoRAConfig)DefaultConfig),
    ];

    /// <inheritdoc/>
    public override bool Recognises(PeftConfigReader file) => file.PeftType == "MELORA";

    /// <inheritdoc/>
    public override AdapterConfig ReadPeft(PeftConfigReader file)
    {
        int[] ranks = file.List("r", (name, node) => file.IntValue(name, node, 1, AdapterConfig.MaxRank));
        double[] alphas = file.List("lora_alpha", file.PositiveNumberValue);
        if (alphas.Length != ranks.Length)
        {
            throw file.Error("lora_alpha", $"has {alphas.Length} entries but r has {ranks.Length}: one per mini LoRA");
        }

        if (ranks.Distinct().Count() > 1 || alphas.Distinct().Count() > 1)
        {
            throw file.Error("r", "mini LoRAs of different ranks or alphas are not supported: every entry of r and of lora_alpha must be equal");
        }

        if (ranks.Length > MELoRAConfig.MaxBlocks)
        {
            throw file.Error("r", $"has {ranks.Length} entries; at most {MELoRAConfig.MaxBlocks} mini LoRAs are supported");
        }

        return file.ReadShared(new MELoRAConfig()) with { Rank = ranks[0], Alpha = (float)alphas[0], Blocks = ranks.Length };
    }

    /// <inheritdoc/>
    public override void WritePeft(AdapterConfig config, IDictionary<string, JsonNode?> fields)
    {
        var c = (MELoRAConfig)config;
        foreach (string key in fields.Keys.Where(k => !AuthorsKeys.Contains(k)).ToList())
        {
            fields.Remove(key);
        }

        fields["peft_type"] = "MELORA";
        fields["mode"] = "melora";
        fields["r"] = new JsonArray([.. Enumerable.Repeat(c.Rank, c.Blocks).Select(r => JsonValue.Create(r))]);
        JsonNode? alpha = fields.TryGetValue("lora_alpha", out JsonNode? written) ? written : JsonValue.Create(c.Alpha);
        fields["lora_alpha"] = new JsonArray([.. Enumerable.Range(0, c.Blocks).Select(_ => alpha?.DeepClone())]);
    }

    /// <inheritdoc/>
    public override ILinearAdapter Create(AdapterConfig config, Linear baseLayer, ulong seed) =>
        new MELoRAAdapter(baseLayer.Weight.Device, baseLayer.InFeatures, baseLayer.OutFeatures, (MELoRAConfig)config, seed);

    /// <inheritdoc/>
    public override IReadOnlyList<(string Suffix, long[] Shape)> ExportedShapes(AdapterConfig config, long inFeatures, long outFeatures)
    {
        var c = (MELoRAConfig)config;
        (int p, int q) = c.BlockSizes(inFeatures, outFeatures);
        return
        [
            .. Enumerable.Range(0, c.Blocks).Select(i => ($"lora_A.{i}.weight", new long[] { c.Rank, p })),
            .. Enumerable.Range(0, c.Blocks).Select(i => ($"lora_B.{i}.weight", new long[] { q, c.Rank })),
        ];
    }

    /// <inheritdoc/>
    public override AdapterFootprint Footprint(AdapterConfig config, double inFeatures, double outFeatures)
    {
        var c = (MELoRAConfig)config;
        double n = c.Blocks, r = c.Rank, p = Math.Floor(inFeatures / n), q = Math.Floor(outFeatures / n);
        // Saved: H = [H_0 | … | H_{n-1}] (n·r per token). Backward's scratch: G_H, the same width.
        return new(
            Parameters: n * r * (p + q), Buffers: 0, SavedPerToken: n * r, ScratchPerToken: n * r, ScratchFixed: 0,
            ForwardFlopsPerToken: 2 * n * r * (p + q));
    }
}
