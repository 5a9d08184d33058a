using System.Text.Json.Serialization;

namespace MoR.Adapters;

/// <summary>
/// An adapter method's hyper-parameters (PEFT's <c>LoraConfig</c> idea): what every method shares here, each method
/// adding its own in a derived record in its folder (<c>Adapters/&lt;Method&gt;/</c>). The config names its method, and
/// everything that differs between methods — whether it is routed, its adapter_config.json fields, its flags — is asked
/// of it or of <see cref="Method"/>, never switched on.
/// </summary>
public abstract record AdapterConfig
{
    /// <summary>The paper's placement: the FFN projections.</summary>
    public static IReadOnlyList<string> DefaultTargetModules { get; } = ["gate_proj", "up_proj", "down_proj"];

    /// <summary>The method these hyper-parameters belong to.</summary>
    [JsonIgnore]
    public AdapterMethod Method => Owner;

    /// <summary>
    /// The method, as each config declares it. Protected, so that serialization never sees it: an attribute on an
    /// abstract property does not reach the overrides System.Text.Json reflects over.
    /// </summary>
    protected abstract AdapterMethod Owner { get; }

    /// <summary>r: the rank of A and B (per expert, per mini block, or LoRA's rank that MoRA's square matrix matches).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>α; LoRA-family outputs are scaled by <see cref="Scale"/> = α / r.</summary>
    public float Alpha { get; init; } = 16f;

    /// <summary>
    /// PEFT's <c>lora_dropout</c>: the probability of zeroing an element of the adapter path's input in training passes
    /// (inverted scaling 1/(1−p); the frozen base always sees the undropped x). docs/METHODS.md, "Notation".
    /// </summary>
    public float Dropout { get; init; }

    /// <summary>
    /// Modules to adapt, as PEFT matches a list: a name without a dot matches the last component of the module path
    /// (<c>up_proj</c>); a name with a dot matches a full path or a path suffix (<c>mlp.up_proj</c>), else it is tried as
    /// a regular expression over the whole path (<c>model\.layers\.[0-3]\.mlp\..*</c>).
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = DefaultTargetModules;

    /// <summary>PEFT's string form of <c>target_modules</c>: one regular expression full-matched against each module path; null when <see cref="TargetModules"/> is used.</summary>
    public string? TargetModulesPattern { get; init; }

    /// <summary>s = α / r.</summary>
    [JsonIgnore]
    public float Scale => Alpha / Rank;

    /// <summary>
    /// The hyper-parameters that fix an adapter's tensors and its outputs, in words (<c>r = 8, alpha = 16</c>): equal for
    /// two configs whose adapters could share one <c>adapter_config.json</c>; what messages print.
    /// </summary>
    /// <returns>The text.</returns>
    public virtual string FormatSizes() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"r = {Rank}, alpha = {Alpha}");

    /// <summary>The method and <see cref="FormatSizes"/>, e.g. <c>MoR (r = 8, alpha = 16, experts = 8)</c>.</summary>
    public sealed override string ToString() => $"{Method.DisplayName} ({FormatSizes()})";

    /// <summary>Whether the method mixes experts with a router (MoR, MoE-LoRA): its adapters are <see cref="IRoutedAdapter"/>.</summary>
    [JsonIgnore]
    public bool IsRouted => this is RoutedAdapterConfig;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting (the flag's words, as the CLI prints it).</summary>
    public virtual void Validate()
    {
        Require(Rank >= 1, $"rank must be >= 1; got {Rank}.");
        Require(Rank <= MaxRank, $"rank must be <= {MaxRank}; got {Rank}.");
        Require(float.IsFinite(Alpha) && Alpha > 0, $"alpha must be a positive number; got {Alpha}.");
        Require(Dropout is >= 0f and < 1f, $"dropout must be in [0, 1); got {Dropout}.");
        Require(TargetModules.Count > 0 || TargetModulesPattern is not null, "target modules must not be empty.");
    }

    /// <summary>The largest rank any config accepts: no rank exceeds the widest supported projection.</summary>
    public const int MaxRank = 1 << 20;

    /// <summary>Throws <see cref="ArgumentException"/> with <paramref name="message"/> unless <paramref name="ok"/>.</summary>
    protected static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
