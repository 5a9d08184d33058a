using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MoR.Adapters;
using MoR.IO;

namespace MoR.Model;

/// <summary>
/// <c>adapter_config.json</c> in PEFT's format (MOR.md §6). LoRA and DoRA are PEFT's own <c>LORA</c> type
/// (DoRA: <c>use_dora: true</c>) with exactly the fields PEFT writes, so PEFT loads them unchanged; MoR and
/// MoE-LoRA use <c>peft_type</c> <c>MOR</c> / <c>MOE_LORA</c> with the same fields plus <c>num_experts</c>.
/// </summary>
public sealed record AdapterConfigFile
{
    /// <summary>The file name PEFT uses.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>The largest <c>r</c> a config may give: no rank exceeds the widest supported projection (<see cref="LlamaConfig.MaxWidth"/>).</summary>
    public const int MaxRank = LlamaConfig.MaxWidth;

    /// <summary>The largest <c>num_experts</c> a config may give: far beyond any mixture of experts in use.</summary>
    public const int MaxExperts = 1 << 16;

    /// <summary>PEFT's default for LLaMA when <c>target_modules</c> is null.</summary>
    private static readonly string[] PeftLlamaDefaultTargets = ["q_proj", "v_proj"];

    /// <summary>The method.</summary>
    public required AdapterKind Kind { get; init; }

    /// <summary><c>r</c>.</summary>
    public required int Rank { get; init; }

    /// <summary><c>lora_alpha</c>.</summary>
    public required float Alpha { get; init; }

    /// <summary><c>num_experts</c> (MoR, MoE-LoRA; 1 otherwise).</summary>
    public int Experts { get; init; } = 1;

    /// <summary><c>target_modules</c> as a list (PEFT: exact name or path suffix); null when <see cref="TargetModulesPattern"/> is used.</summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary><c>target_modules</c> as a single string: PEFT full-matches it as a regular expression against each module path.</summary>
    public string? TargetModulesPattern { get; init; }

    /// <summary><c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary><c>lora_dropout</c>: applied in training (<see cref="MoR.Adapters.AdapterOptions.Dropout"/>), not at inference.</summary>
    public double LoraDropout { get; init; }

    /// <summary><c>peft_type</c> as written.</summary>
    public string PeftType => Kind switch
    {
        AdapterKind.LoRA or AdapterKind.DoRA => "LORA",
        AdapterKind.MoR => "MOR",
        AdapterKind.MoELoRA => "MOE_LORA",
        _ => throw new InvalidOperationException($"Unknown adapter kind {Kind}."),
    };

    /// <summary>Whether <paramref name="path"/> is a target, by PEFT's rules.</summary>
    /// <param name="path">A module path.</param>
    /// <returns>Whether it is adapted.</returns>
    public bool Targets(string path) => TargetModulesPattern is { } pattern
        ? System.Text.RegularExpressions.Regex.IsMatch(path, $"^(?:{pattern})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))
        : (TargetModules ?? PeftLlamaDefaultTargets).Any(t => AdapterInjector.Matches(path, t));

    /// <summary>The adapter options these fields describe.</summary>
    /// <returns>Options with seed 0 (weights come from the file).</returns>
    public AdapterOptions ToOptions() => new(Kind, Rank, Alpha, Math.Max(Experts, 1));

    /// <summary>The JSON PEFT writes (keys sorted, as PEFT's <c>json.dumps(..., sort_keys=True)</c>).</summary>
    /// <returns>Indented JSON text.</returns>
    public string ToJson()
    {
        var o = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["alpha_pattern"] = new JsonObject(),
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = BaseModelNameOrPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = Alpha == MathF.Round(Alpha) && Math.Abs(Alpha) < int.MaxValue ? JsonValue.Create((int)Alpha) : JsonValue.Create(Alpha),
            ["lora_dropout"] = LoraDropout,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = null,
            ["peft_type"] = PeftType,
            ["r"] = Rank,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = TargetModulesPattern is { } p ? JsonValue.Create(p) : new JsonArray([.. (TargetModules ?? []).Select(t => JsonValue.Create(t))]),
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = Kind == AdapterKind.DoRA,
            ["use_rslora"] = false,
        };
        if (Kind is AdapterKind.MoR or AdapterKind.MoELoRA)
        {
            o["num_experts"] = Experts;
        }

        var root = new JsonObject();
        foreach ((string key, JsonNode? value) in o)
        {
            root[key] = value;
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads and validates <c>adapter_config.json</c> from an adapter folder.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The config.</returns>
    /// <exception cref="AdapterFolderException">The peft_type is unknown, a field is missing or malformed, or a PEFT option this library does not implement is set.</exception>
    /// <exception cref="JsonFileException">The file is not valid JSON (or repeats a key, or is not an object).</exception>
    public static AdapterConfigFile Read(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string file = Path.Combine(directory, FileName);
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"'{directory}' has no {FileName}: not an adapter folder.", file);
        }

        // Strict: a syntax error, a repeated key or a non-object names the file, line and byte.
        JsonObject root = JsonFile.ParseNode(file);
        AdapterFolderException Error(string field, string detail) => new(directory, field, detail);
        string peftType = String(root, "peft_type") ?? throw Error("peft_type", "is required (LORA, MOR or MOE_LORA)");
        bool useDora = Bool(root, "use_dora") ?? false;
        AdapterKind kind = peftType switch
        {
            "LORA" => useDora ? AdapterKind.DoRA : AdapterKind.LoRA,
            "MOR" => AdapterKind.MoR,
            "MOE_LORA" => AdapterKind.MoELoRA,
            _ => throw Error("peft_type", $"'{peftType}' is not supported (LORA with or without use_dora, MOR, MOE_LORA)"),
        };
        if (useDora && peftType != "LORA")
        {
            throw Error("use_dora", $"true is only meaningful for peft_type LORA, not {peftType}");
        }

        int rank = Int(root, "r") ?? 8; // PEFT's default
        if (rank is < 1 or > MaxRank)
        {
            throw Error("r", $"must be in [1, {MaxRank}], not {rank}");
        }

        float alpha = (float)(Number(root, "lora_alpha") ?? 8); // PEFT's default
        if (!float.IsFinite(alpha))
        {
            throw Error("lora_alpha", "is too large for a 32-bit float");
        }

        double dropout = Number(root, "lora_dropout") ?? 0;
        if (dropout is < 0 or >= 1)
        {
            throw Error("lora_dropout", $"must be in [0, 1), not {dropout.ToString(CultureInfo.InvariantCulture)}");
        }
        int experts = 1;
        if (kind is AdapterKind.MoR or AdapterKind.MoELoRA)
        {
            experts = Int(root, "num_experts") ?? throw Error("num_experts", $"is required for {peftType}");
            if (experts is < 1 or > MaxExperts)
            {
                throw Error("num_experts", $"must be in [1, {MaxExperts}], not {experts}");
            }
        }

        if (Bool(root, "use_rslora") == true)
        {
            throw Error("use_rslora", "true (scale α/√r) is not supported; adapters here scale by α/r");
        }

        if (Bool(root, "fan_in_fan_out") == true)
        {
            throw Error("fan_in_fan_out", "true (Conv1D-style transposed weights) is not supported by LLaMA layers");
        }

        if (String(root, "bias") is { } bias && bias != "none")
        {
            throw Error("bias", $"'{bias}' is not supported; only 'none' (LLaMA has no biases)");
        }

        foreach (string field in new[] { "rank_pattern", "alpha_pattern" })
        {
            if (root[field] is JsonObject pattern && pattern.Count > 0)
            {
                throw Error(field, "per-module ranks or alphas are not supported; every adapted module uses r and lora_alpha");
            }
        }

        foreach (string field in new[] { "layers_to_transform", "modules_to_save", "layer_replication" })
        {
            if (root[field] is JsonNode node && !(node is JsonArray { Count: 0 }))
            {
                throw Error(field, "is set, which this library does not implement (it must be null)");
            }
        }

        if (String(root, "task_type") is { } task && task != "CAUSAL_LM")
        {
            throw Error("task_type", $"'{task}' is not supported; adapters here are for CAUSAL_LM");
        }

        IReadOnlyList<string>? targets = null;
        string? pattern2 = null;
        switch (root["target_modules"])
        {
            case null:
                targets = PeftLlamaDefaultTargets;
                break;
            case JsonArray array:
                targets = [.. array.Select((n, i) => n is JsonValue v && v.TryGetValue(out string? s) ? s : throw Error($"target_modules[{i}]", "is not a string"))];
                if (targets.Count == 0)
                {
                    throw Error("target_modules", "is empty");
                }

                break;
            case JsonValue value when value.TryGetValue(out string? s):
                try
                {
                    _ = new System.Text.RegularExpressions.Regex($"^(?:{s})$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
                }
                catch (ArgumentException e)
                {
                    throw Error("target_modules", $"is not a valid regular expression ({e.Message.ReplaceLineEndings(" ")})");
                }

                pattern2 = s;
                break;
            default:
                throw Error("target_modules", "must be a list of module names or a regular expression string");
        }

        return new AdapterConfigFile
        {
            Kind = kind,
            Rank = rank,
            Alpha = alpha,
            Experts = experts,
            TargetModules = targets,
            TargetModulesPattern = pattern2,
            BaseModelNameOrPath = String(root, "base_model_name_or_path"),
            LoraDropout = dropout,
        };

        string? String(JsonObject o, string name) => o[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => throw Error(name, "must be a string"),
        };

        bool? Bool(JsonObject o, string name) => o[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out bool b) => b,
            _ => throw Error(name, "must be true or false"),
        };

        double? Number(JsonObject o, string name) => o[name] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && double.IsFinite(v.GetValue<double>()) => v.GetValue<double>(),
            _ => throw Error(name, "must be a finite number"),
        };

        int? Int(JsonObject o, string name)
        {
            double? d = Number(o, name);
            if (d is null)
            {
                return null;
            }

            if (d != Math.Floor(d.Value) || d < int.MinValue || d > int.MaxValue)
            {
                throw Error(name, $"must be an integer, not {d.Value.ToString(CultureInfo.InvariantCulture)}");
            }

            return (int)d.Value;
        }
    }
}
