using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MoR.Adapters;

/// <summary>
/// <see cref="AdapterConfig"/> in <c>training_config.json</c> and checkpoints: <c>{"method": "mor", …its fields…}</c>,
/// the method looked up in <see cref="AdapterMethods"/> — the registry, not a list of derived types, decides what can be
/// read.
/// </summary>
public sealed class AdapterConfigJsonConverter : JsonConverter<AdapterConfig>
{
    /// <summary>The key that names the method.</summary>
    public const string MethodKey = "method";

    /// <inheritdoc/>
    public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(AdapterConfig);

    /// <inheritdoc/>
    public override AdapterConfig? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (JsonNode.Parse(ref reader) is not JsonObject o)
        {
            throw new JsonException("An adapter config must be a JSON object.");
        }

        string name = o[MethodKey] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new JsonException($"An adapter config needs \"{MethodKey}\".");
        AdapterMethod method = AdapterMethods.Find(name) ?? throw new JsonException($"Unknown adapter method '{name}' (this build has: {string.Join(", ", AdapterMethods.All.Select(m => m.Name))}).");
        o.Remove(MethodKey);
        return (AdapterConfig?)o.Deserialize(method.ConfigType, options) ?? throw new JsonException("An adapter config must not be null.");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, AdapterConfig value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString(MethodKey, value.Method.Name);
        foreach (JsonProperty p in JsonSerializer.SerializeToElement(value, value.GetType(), options).EnumerateObject())
        {
            p.WriteTo(writer);
        }

        writer.WriteEndObject();
    }
}
