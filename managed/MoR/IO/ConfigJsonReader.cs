using System.Text.Json;

namespace MoR.IO;

/// <summary>Typed, strict reads of fields of a JSON config object; errors name the file and the field.</summary>
internal sealed class ConfigJsonReader(string source, JsonElement obj, string prefix = "")
{
    public string Source => source;

    public bool Has(string name) => obj.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement? Get(string name) =>
        obj.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public LlamaConfigException Error(string name, string detail) => new(source, prefix + name, detail);

    public int RequiredInt(string name) => OptionalInt(name) ?? throw Error(name, "is required");

    public int? OptionalInt(string name)
    {
        if (Get(name) is not JsonElement v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int value))
        {
            throw Error(name, $"must be a 32-bit integer, not {Describe(v)}");
        }

        return value;
    }

    public double? OptionalDouble(string name)
    {
        if (Get(name) is not JsonElement v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double value) || !double.IsFinite(value))
        {
            throw Error(name, $"must be a finite number, not {Describe(v)}");
        }

        return value;
    }

    public double RequiredDouble(string name) => OptionalDouble(name) ?? throw Error(name, "is required");

    public bool? OptionalBool(string name)
    {
        if (Get(name) is not JsonElement v)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"must be true or false, not {Describe(v)}"),
        };
    }

    public string? OptionalString(string name)
    {
        if (Get(name) is not JsonElement v)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Error(name, $"must be a string, not {Describe(v)}");
    }

    /// <summary>An integer or an array of integers (as <c>eos_token_id</c> may be).</summary>
    public int[] IntOrIntArray(string name)
    {
        if (Get(name) is not JsonElement v)
        {
            return [];
        }

        if (v.ValueKind == JsonValueKind.Number)
        {
            return [OptionalInt(name)!.Value];
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            throw Error(name, $"must be an integer or an array of integers, not {Describe(v)}");
        }

        var values = new List<int>();
        foreach (JsonElement item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int value))
            {
                throw Error(name, $"must be an integer or an array of integers, but holds {Describe(item)}");
            }

            values.Add(value);
        }

        return [.. values];
    }

    public ConfigJsonReader? OptionalObject(string name)
    {
        if (Get(name) is not JsonElement v)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Object
            ? new ConfigJsonReader(source, v, prefix + name + ".")
            : throw Error(name, $"must be an object or null, not {Describe(v)}");
    }

    private static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{v.GetString()}\"",
        JsonValueKind.Number => $"the number {v.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        _ => v.ValueKind.ToString(),
    };
}
