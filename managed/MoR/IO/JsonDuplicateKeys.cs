using System.Text.Json;

namespace MoR.IO;

/// <summary>
/// Finds repeated keys in a parsed JSON document. <see cref="JsonDocument"/> keeps every property, but
/// lookups and serializers silently take one of the duplicates; our formats treat them as errors.
/// </summary>
internal static class JsonDuplicateKeys
{
    /// <summary>The path of the first repeated key (e.g. <c>weight_map.lm_head.weight</c>), or null.</summary>
    public static string? Find(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (JsonProperty p in element.EnumerateObject())
                {
                    string childPath = path.Length == 0 ? p.Name : path + "." + p.Name;
                    if (!seen.Add(p.Name))
                    {
                        return childPath;
                    }

                    if (Find(p.Value, childPath) is string inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    if (Find(item, $"{path}[{i++}]") is string inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>Options that reject comments and trailing commas, as strict JSON does.</summary>
    public static JsonDocumentOptions StrictOptions => new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
    };
}
