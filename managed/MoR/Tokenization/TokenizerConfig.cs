using System.Globalization;
using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// What a Hugging Face <c>tokenizer_config.json</c> says about special tokens and chat formatting
/// (plus <c>bos_token_id</c>/<c>eos_token_id</c> from <c>config.json</c> as a fallback).
/// </summary>
public sealed class TokenizerConfig
{
    /// <summary>The file name Hugging Face uses.</summary>
    public const string FileName = "tokenizer_config.json";

    /// <summary><c>tokenizer_class</c>, e.g. <c>LlamaTokenizer</c>, <c>PreTrainedTokenizerFast</c>, or <see cref="ByteTokenizer.TokenizerClassName"/>.</summary>
    public string? TokenizerClass { get; init; }

    /// <summary><c>bos_token</c> text.</summary>
    public string? BosToken { get; init; }

    /// <summary><c>eos_token</c> text.</summary>
    public string? EosToken { get; init; }

    /// <summary><c>pad_token</c> text.</summary>
    public string? PadToken { get; init; }

    /// <summary><c>unk_token</c> text.</summary>
    public string? UnkToken { get; init; }

    /// <summary><c>add_bos_token</c>, if stated.</summary>
    public bool? AddBosToken { get; init; }

    /// <summary>The Jinja <c>chat_template</c> (the <c>default</c> one when several are named), if any.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary><c>clean_up_tokenization_spaces</c>, if stated: decoding removes the space before punctuation and
    /// English contractions (" ." → ".", " 's" → "'s").</summary>
    public bool? CleanUpTokenizationSpaces { get; init; }

    /// <summary><c>additional_special_tokens</c>: more token texts decoding leaves out.</summary>
    public IReadOnlyList<string> AdditionalSpecialTokens { get; init; } = [];

    /// <summary><c>added_tokens_decoder</c> entries.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    /// <summary><c>bos_token_id</c> from the model's <c>config.json</c>, if present.</summary>
    public int? ConfigBosTokenId { get; init; }

    /// <summary><c>eos_token_id</c> from the model's <c>config.json</c> (first of a list), if present.</summary>
    public int? ConfigEosTokenId { get; init; }

    /// <summary>Reads <c>tokenizer_config.json</c> and <c>config.json</c> from a directory; missing files give empty values.</summary>
    /// <param name="directory">The model directory.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="InvalidDataException">A file is not valid JSON or a field has the wrong type.</exception>
    public static TokenizerConfig Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        string configPath = Path.Combine(directory, "config.json");
        int? bos = null, eos = null;
        if (File.Exists(configPath))
        {
            using JsonDocument config = ParseFile(configPath);
            bos = ReadId(config.RootElement, "bos_token_id", configPath);
            eos = ReadId(config.RootElement, "eos_token_id", configPath);
        }

        if (!File.Exists(path))
        {
            return new TokenizerConfig { ConfigBosTokenId = bos, ConfigEosTokenId = eos };
        }

        using JsonDocument doc = ParseFile(path);
        JsonElement root = doc.RootElement;
        return new TokenizerConfig
        {
            TokenizerClass = ReadString(root, "tokenizer_class", path),
            BosToken = ReadTokenText(root, "bos_token", path),
            EosToken = ReadTokenText(root, "eos_token", path),
            PadToken = ReadTokenText(root, "pad_token", path),
            UnkToken = ReadTokenText(root, "unk_token", path),
            AddBosToken = root.TryGetProperty("add_bos_token", out JsonElement addBos) && addBos.ValueKind is JsonValueKind.True or JsonValueKind.False ? addBos.GetBoolean() : null,
            ChatTemplate = ReadChatTemplate(root, path),
            CleanUpTokenizationSpaces = root.TryGetProperty("clean_up_tokenization_spaces", out JsonElement cleanUp) && cleanUp.ValueKind is JsonValueKind.True or JsonValueKind.False ? cleanUp.GetBoolean() : null,
            AdditionalSpecialTokens = ReadTokenList(root, "additional_special_tokens", path),
            AddedTokens = ReadAddedTokens(root, path),
            ConfigBosTokenId = bos,
            ConfigEosTokenId = eos,
        };
    }

    private static JsonDocument ParseFile(string path)
    {
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            JsonDocument doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = false });
            if (IO.JsonFile.Scan(bytes.AsSpan().StartsWith("\uFEFF"u8) ? bytes.AsSpan(3) : bytes, allowDuplicateKeys: true) is { } bad)
            {
                doc.Dispose();
                throw new InvalidDataException($"'{path}' is not valid JSON at line {bad.Line}, byte {bad.Position}: {bad.Detail}.");
            }

            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new InvalidDataException($"'{path}': the top-level value is not an object.");
            }

            return doc;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    private static string? ReadString(JsonElement root, string name, string path) =>
        !root.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw new InvalidDataException($"'{path}': '{name}' must be a string.");

    // Special tokens are written either as plain strings or as serialized AddedToken objects.
    private static string? ReadTokenText(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => throw new InvalidDataException($"'{path}': '{name}' must be a string or an object with 'content'."),
        };
    }

    private static string? ReadChatTemplate(JsonElement root, string path)
    {
        if (!root.TryGetProperty("chat_template", out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.String)
        {
            return v.GetString();
        }

        if (v.ValueKind == JsonValueKind.Array)
        {
            string? first = null;
            foreach (JsonElement t in v.EnumerateArray())
            {
                string? name = t.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                string? template = t.TryGetProperty("template", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                first ??= template;
                if (name == "default")
                {
                    return template;
                }
            }

            return first;
        }

        throw new InvalidDataException($"'{path}': 'chat_template' must be a string or a list of named templates.");
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string path)
    {
        var tokens = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens_decoder", out JsonElement v) || v.ValueKind != JsonValueKind.Object)
        {
            return tokens;
        }

        foreach (JsonProperty p in v.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id)
                || p.Value.ValueKind != JsonValueKind.Object
                || !p.Value.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"'{path}': added_tokens_decoder entry '{p.Name}' must map an id to an object with 'content'.");
            }

            bool special = Flag(p.Value, "special") ?? false;
            tokens.Add(new AddedToken(id, content.GetString()!, special)
            {
                LeftStrip = Flag(p.Value, "lstrip") ?? false,
                RightStrip = Flag(p.Value, "rstrip") ?? false,
                Normalized = Flag(p.Value, "normalized") ?? !special,
            });
        }

        return tokens;
    }

    private static bool? Flag(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    // A list of token texts, each a string or an {"content": …} object.
    private static List<string> ReadTokenList(JsonElement root, string name, string path)
    {
        var result = new List<string>();
        if (!root.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return result;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"'{path}': '{name}' must be a list.");
        }

        foreach (JsonElement item in v.EnumerateArray())
        {
            result.Add(item.ValueKind switch
            {
                JsonValueKind.String => item.GetString()!,
                JsonValueKind.Object when item.TryGetProperty("content", out JsonElement c) && c.ValueKind == JsonValueKind.String => c.GetString()!,
                _ => throw new InvalidDataException($"'{path}': each '{name}' entry must be a string or an object with 'content'."),
            });
        }

        return result;
    }

    private static int? ReadId(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Array)
        {
            v = v.EnumerateArray().FirstOrDefault();
            if (v.ValueKind == JsonValueKind.Undefined)
            {
                return null;
            }
        }

        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int id)
            ? id
            : throw new InvalidDataException($"'{path}': '{name}' must be an integer or a list of integers.");
    }
}
