using System.Text.Json;
using System.Text.Json.Nodes;
using MoR.IO;

namespace MoR.Adapters;

/// <summary>
/// <c>adapter_config.json</c> in PEFT's format: PEFT's LoRA fields, which every method here writes (so PEFT loads LoRA
/// and DoRA folders unchanged), with each method's own fields on top (<see cref="AdapterMethod.WritePeft"/>). Reading
/// asks the registry which method the file describes (<see cref="AdapterMethods.Recognise"/>).
/// </summary>
public sealed record AdapterConfigFile
{
    /// <summary>The file name PEFT uses.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>The method and its hyper-parameters.</summary>
    public required AdapterConfig Config { get; init; }

    /// <summary><c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>Whether <paramref name="path"/> is a target, by PEFT's rules.</summary>
    /// <param name="path">A module path.</param>
    /// <returns>Whether it is adapted.</returns>
    public bool Targets(string path) => AdapterInjector.Targets(Config, path);

    /// <summary>The JSON PEFT writes (keys sorted, as PEFT's <c>json.dumps(..., sort_keys=True)</c>).</summary>
    /// <returns>Indented JSON text.</returns>
    public string ToJson()
    {
        var root = new JsonObject();
        foreach ((string key, JsonNode? value) in Fields())
        {
            root[key] = value;
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The file's fields, keys sorted: PEFT's LoRA fields with the method's own written over them.</summary>
    /// <returns>A fresh dictionary (its nodes are not shared with any other).</returns>
    internal SortedDictionary<string, JsonNode?> Fields()
    {
        AdapterConfig c = Config;
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
            ["lora_alpha"] = c.Alpha == MathF.Round(c.Alpha) && Math.Abs(c.Alpha) < int.MaxValue ? JsonValue.Create((int)c.Alpha) : JsonValue.Create(c.Alpha),
            ["lora_dropout"] = ShortestDouble(c.Dropout),
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = c.Rank,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = c.TargetModulesPattern is { } p ? JsonValue.Create(p) : new JsonArray([.. c.TargetModules.Select(t => JsonValue.Create(t))]),
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = false,
        };
        c.Method.WritePeft(c, o);
        return o;
    }

    // The float as its shortest decimal (0.05f is written 0.05, as PEFT writes it, not 0.05000000074505806).
    private static double ShortestDouble(float value) => double.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads and validates <c>adapter_config.json</c> from an adapter folder.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The config.</returns>
    /// <exception cref="AdapterFolderException">No method recognises the file, a field is missing or malformed, or a PEFT option this library does not implement is set.</exception>
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
        var reader = new PeftConfigReader(directory, JsonFile.ParseNode(file));
        RefuseUnsupported(reader);
        AdapterMethod method = AdapterMethods.Recognise(reader);
        AdapterConfig config = method.ReadPeft(reader);
        try
        {
            // The fields were range-checked as they were read; this catches combinations a method refuses.
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new AdapterFolderException(directory, FileName, e.Message);
        }

        return new AdapterConfigFile { Config = config, BaseModelNameOrPath = reader.String("base_model_name_or_path") };
    }

    // PEFT options that change what a LoRA-family adapter computes and that no method here implements.
    private static void RefuseUnsupported(PeftConfigReader r)
    {
        if (r.Bool("use_dora") == true && r.PeftType != "LORA")
        {
            throw r.Error("use_dora", $"true is only meaningful for peft_type LORA, not {r.PeftType}");
        }

        if (r.Bool("use_rslora") == true)
        {
            throw r.Error("use_rslora", "true (scale α/√r) is not supported; adapters here scale by α/r");
        }

        if (r.Bool("fan_in_fan_out") == true)
        {
            throw r.Error("fan_in_fan_out", "true (Conv1D-style transposed weights) is not supported by LLaMA layers");
        }

        if (r.String("bias") is { } bias && bias != "none")
        {
            throw r.Error("bias", $"'{bias}' is not supported; only 'none' (LLaMA has no biases)");
        }

        foreach (string field in new[] { "rank_pattern", "alpha_pattern" })
        {
            if (r.Root[field] is JsonObject pattern && pattern.Count > 0)
            {
                throw r.Error(field, "per-module ranks or alphas are not supported; every adapted module uses r and lora_alpha");
            }
        }

        foreach (string field in new[] { "layers_to_transform", "modules_to_save", "layer_replication" })
        {
            if (r.Root[field] is JsonNode node && !(node is JsonArray { Count: 0 }))
            {
                throw r.Error(field, "is set, which this library does not implement (it must be null)");
            }
        }

        if (r.String("task_type") is { } task && task != "CAUSAL_LM")
        {
            throw r.Error("task_type", $"'{task}' is not supported; adapters here are for CAUSAL_LM");
        }
    }
}
