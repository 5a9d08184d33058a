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
    public double? Number(string name) => Root[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && double.IsFinite(v.GetValue<double>()) => v.GetValue<double>(),
        _ => throw Error(name, "must be a finite number"),
    };

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public int? Int(string name, int min, int max)
    {
        double? d = Number(name);
        if (d is not double value)
        {
            return null;
        }

        if (value != Math.Floor(value) || value < min || value > max)
        {
            throw Error(name, $"must be an integer in [{min}, {max}], not {value.ToString(CultureInfo.InvariantCulture)}");
        }

        return (int)value;
    }

    /// <summary>
    /// The fields PEFT's LoRA family shares into <paramref name="config"/>: <c>r</c>, <c>lora_alpha</c>, <c>lora_dropout</c>
    /// and <c>target_modules</c> (a list, or a string PEFT full-matches as a regular expression), with PEFT's defaults.
    /// </summary>
    public T ReadCommon<T>(T config)
        where T : AdapterConfig
    {
        int rank = Int("r", 1, AdapterConfig.MaxRank) ?? 8; // PEFT's default
        float alpha = (float)(Number("lora_alpha") ?? 8); // PEFT's default
        if (!float.IsFinite(alpha))
        {
            throw Error("lora_alpha", "is too large for a 32-bit float");
        }

        if (alpha <= 0)
        {
            throw Error("lora_alpha", $"must be positive, not {alpha.ToString(CultureInfo.InvariantCulture)}");
        }

        double dropout = Number("lora_dropout") ?? 0;
        if (dropout is < 0 or >= 1)
        {
            throw Error("lora_dropout", $"must be in [0, 1), not {dropout.ToString(CultureInfo.InvariantCulture)}");
        }

        (IReadOnlyList<string> targets, string? pattern) = TargetModules();
        return config with { Rank = rank, Alpha = alpha, Dropout = (float)dropout, TargetModules = targets, TargetModulesPattern = pattern };
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
