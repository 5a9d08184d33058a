using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MoR.Adapters;

namespace MoR.Training;

/// <summary>
/// Reads <see cref="TrainingOptions"/> as written today (<c>"adapter": {"method": …}</c>) and as written before adapter
/// methods were plug-ins, with the method and its hyper-parameters at the top level (<c>"method": "mor", "rank": 8,
/// "experts": 8, …</c>), so <c>training_config.json</c> files and checkpoints of earlier runs stay readable.
/// </summary>
public sealed class TrainingOptionsJsonConverter : JsonConverter<TrainingOptions>
{
    // The top-level keys the earlier format held and where each went.
    private static readonly string[] LegacyAdapterKeys = ["rank", "experts", "alpha", "dropout", "target_modules", "router_init", "router_balance_loss"];

    /// <inheritdoc/>
    public override TrainingOptions? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (JsonNode.Parse(ref reader) is not JsonObject o)
        {
            throw new JsonException("Training options must be a JSON object.");
        }

        if (o["method"] is JsonValue m && m.TryGetValue(out string? method) && !o.ContainsKey("adapter"))
        {
            o["adapter"] = LegacyAdapter(o, method);
        }

        foreach (string key in (string[])["method", .. LegacyAdapterKeys])
        {
            o.Remove(key);
        }

        return o.Deserialize<TrainingOptions>(Without(options)) ?? throw new JsonException("Training options must not be null.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TrainingOptions value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, Without(options));

    private static JsonObject? LegacyAdapter(JsonObject o, string method)
    {
        if (string.Equals(method, AdapterMethods.FullFineTuning, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        // Only the fields the method's config has: "experts" of a LoRA run, say, meant nothing and is dropped.
        AdapterMethod adapter = AdapterMethods.Find(method) ?? throw new JsonException($"Unknown method '{method}'.");
        var fields = new HashSet<string>(
            JsonSerializer.SerializeToElement(adapter.DefaultConfig, adapter.ConfigType, TrainingJson.Options).EnumerateObject().Select(p => p.Name),
            StringComparer.Ordinal);
        var result = new JsonObject { [AdapterConfigJsonConverter.MethodKey] = adapter.Name };
        foreach (string key in LegacyAdapterKeys.Where(k => fields.Contains(k) && o.ContainsKey(k)))
        {
            result[key] = o[key]?.DeepClone();
        }

        return result;
    }

    private static JsonSerializerOptions Without(JsonSerializerOptions options)
    {
        var copy = new JsonSerializerOptions(options);
        for (int i = copy.Converters.Count - 1; i >= 0; i--)
        {
            if (copy.Converters[i] is TrainingOptionsJsonConverter)
            {
                copy.Converters.RemoveAt(i);
            }
        }

        return copy;
    }
}
