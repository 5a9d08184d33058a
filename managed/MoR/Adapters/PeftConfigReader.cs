using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MoR.Adapters;

/// <summary>
/// A parsed <c>adapter_config.json</c> with typed field access whose errors name the folder and the field: what each
/// <see cref="AdapterMethod"/> reads its fields through.
/// </summary>
public sealed class PeftConfigReader(string directory, JsonObject root)
{
    /// <summary>The PEFT default for LLaMA when <c>target_modules</c> is null.</summary>
    private static readonly string[] PeftLlamaDefaultTargets = ["q_proj", "v_proj"];

    /// <summary>The adapter folder (for messages).</summary>
    public string Directory { get; } = directory;

    /// <summary>The parsed file.</summary>
    public JsonObject Root { get; } = root;

    /// <summary><c>peft_type</c>, required.</summary>
    public string PeftType => String("peft_type") ?? throw Error("peft_type", "is required");

    /// <summary>An error naming this folder and <paramref name="field"/>.</summary>
    public AdapterFolderException Error(string field, string detail) => new(Directory, field, detail);

    /// <summary>A string field, or null when absent.</summary>
    public string? String(string name) => Root[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw Error(name, "must be a string"),
    };

    /// <summary>A boolean field, or null when absent.</summary>
    public bool? Bool(string name) => Root[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        _ => throw Error(name, "must be true or false"),
    };

    /// <summary>A finite number, or null when absent.</summary>
    public double? Number(string name) => Root[name] is null ? null : NumberValue(name, Root[name]);

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public int? Int(string name, int min, int max) => Root[name] is null ? null : IntValue(name, Root[name], min, max);

    /// <summary><paramref name="node"/> (the value of <paramref name="name"/>) as a finite number.</summary>
    public double NumberValue(string name, JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && double.IsFinite(v.GetValue<double>())
            ? v.GetValue<double>()
            : throw Error(name, "must be a finite number");

    /// <summary><paramref name="node"/> as a number that is positive and finite as a 32-bit float (an alpha).</summary>
    public double PositiveNumberValue(string name, JsonNode? node)
    {
        double value = NumberValue(name, node);
        if (!float.IsFinite((float)value))
        {
            throw Error(name, "is too large for a 32-bit float");
        }

        return (float)value > 0 ? value : throw Error(name, $"must be positive, not {value.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary><paramref name="node"/> as an integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int IntValue(string name, JsonNode? node, int min, int max)
    {
        double value = NumberValue(name, node);
        if (value != Math.Floor(value) || value < min || value > max)
        {
            throw Error(name, $"must be an integer in [{min}, {max}], not {value.ToString(CultureInfo.InvariantCulture)}");
        }

        return (int)value;
    }

    /// <summary>A required non-empty list, each entry read by <paramref name="entry"/> (given the entry's name, e.g. <c>r[2]</c>).</summary>
    public T[] List<T>(string name, Func<string, JsonNode?, T> entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Root[name] switch
        {
            JsonArray { Count: > 0 } array => [.. array.Select((node, i) => entry($"{name}[{i}]", node))],
            JsonArray => throw Error(name, "is empty"),
            null => throw Error(name, "is required"),
            _ => throw Error(name, "must be a list"),
        };
    }

    /// <summary>
    /// The fields PEFT's LoRA family shares into <paramref name="config"/>: <c>r</c>, <c>lora_alpha</c>, <c>lora_dropout</c>
    /// and <c>target_modules</c> (a list, or a string PEFT full-matches as a regular expression), with PEFT's defaults.
    /// </summary>
    public T ReadCommon<T>(T config)
        where T : AdapterConfig
    {
        int rank = Int("r", 1, AdapterConfig.MaxRank) ?? 8; // PEFT's default
        float alpha = Root["lora_alpha"] is null ? 8f : (float)PositiveNumberValue("lora_alpha", Root["lora_alpha"]); // PEFT's default
        return ReadShared(config) with { Rank = rank, Alpha = alpha };
    }

    /// <summary>
    /// The fields every method here shares whatever its sizes look like: <c>lora_dropout</c> and <c>target_modules</c>
    /// (a list, or a string PEFT full-matches as a regular expression), with PEFT's defaults.
    /// </summary>
    public T ReadShared<T>(T config)
        where T : AdapterConfig
    {
        double dropout = Number("lora_dropout") ?? 0;
        if (dropout is < 0 or >= 1)
        {
            throw Error("lora_dropout", $"must be in [0, 1), not {dropout.ToString(CultureInfo.InvariantCulture)}");
        }

        (IReadOnlyList<string> targets, string? pattern) = TargetModules();
        return config with { Dropout = (float)dropout, TargetModules = targets, TargetModulesPattern = pattern };
    }

    private (IReadOnlyList<string> Targets, string? Pattern) TargetModules()
    {
        switch (Root["target_modules"])
        {
            case null:
                return (PeftLlamaDefaultTargets, null);
            case JsonArray array:
                string[] targets = [.. array.Select((n, i) => n is JsonValue v && v.TryGetValue(out string? s) ? s : throw Error($"target_modules[{i}]", "is not a string"))];
                return targets.Length > 0 ? (targets, null) : throw Error("target_modules", "is empty");
            case JsonValue value when value.TryGetValue(out string? s):
                try
                {
                    _ = new System.Text.RegularExpressions.Regex($"^(?:{s})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
                }
                catch (ArgumentException e)
                {
                    throw Error("target_modules", $"is not a valid regular expression ({e.Message.ReplaceLineEndings(" ")})");
                }

                return ([], s);
            default:
                throw Error("target_modules", "must be a list of module names or a regular expression string");
        }
    }
}
