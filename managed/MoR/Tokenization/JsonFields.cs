using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>Lenient reads of optional <c>tokenizer.json</c> fields: a missing or mistyped field reads as absent.</summary>
internal static class JsonFields
{
    public static JsonElement Property(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out JsonElement v) ? v : default;

    public static IEnumerable<JsonElement> Items(JsonElement json, string name) =>
        Property(json, name) is { ValueKind: JsonValueKind.Array } list ? list.EnumerateArray() : [];

    public static string? String(JsonElement json, string name) =>
        Property(json, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static bool Bool(JsonElement json, string name, bool absent = false) => Property(json, name).ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => absent,
    };

    public static int? Int(JsonElement json, string name) =>
        Property(json, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int i) ? i : null;

    public static string? Type(JsonElement json) => String(json, "type");
}
