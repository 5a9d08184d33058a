using System.Text.Json.Nodes;

namespace MoR.Adapters;

/// <summary>
/// What the routed methods (a dense softmax router over N experts) share in their registration: the routed flags and
/// the <c>adapter_config.json</c> form <c>peft_type</c> + <c>num_experts</c> over PEFT's LoRA fields.
/// </summary>
/// <typeparam name="TConfig">The method's config record.</typeparam>
public abstract class RoutedAdapterMethod<TConfig> : AdapterMethod
    where TConfig : RoutedAdapterConfig, new()
{
    /// <summary>The <c>peft_type</c> that names the method in <c>adapter_config.json</c>.</summary>
    public abstract string PeftType { get; }

    /// <inheritdoc/>
    public sealed override Type ConfigType => typeof(TConfig);

    /// <inheritdoc/>
    public sealed override AdapterConfig DefaultConfig { get; } = new TConfig();

    /// <inheritdoc/>
    public sealed override IReadOnlyList<AdapterOption> Options => AdapterFlags.Routed(this);

    /// <inheritdoc/>
    public sealed override bool Recognises(PeftConfigReader file) => file.PeftType == PeftType;

    /// <inheritdoc/>
    public sealed override AdapterConfig ReadPeft(PeftConfigReader file)
    {
        RoutedAdapterConfig common = file.ReadCommon(new TConfig());
        return common with
        {
            Experts = file.Int("num_experts", 1, RoutedAdapterConfig.MaxExperts) ?? throw file.Error("num_experts", $"is required for {PeftType}"),
        };
    }

    /// <inheritdoc/>
    public sealed override void WritePeft(AdapterConfig config, IDictionary<string, JsonNode?> fields)
    {
        fields["peft_type"] = PeftType;
        fields["num_experts"] = ((TConfig)config).Experts;
    }
}
