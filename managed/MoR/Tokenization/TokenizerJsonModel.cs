using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// The parts of a Hugging Face <c>tokenizer.json</c> a byte-level BPE tokenizer (LLaMA 3, SmolLM, GPT-2
/// family) needs: vocabulary, merges, added tokens, the pre-tokenizer's split regex, and the normalizer.
/// Microsoft.ML.Tokenizers 2.0.1 cannot read this file itself, so it is parsed here and handed to its
/// <c>BpeTokenizer</c>.
/// </summary>
internal sealed class TokenizerJsonModel
{
    /// <summary>GPT-2's split pattern, used by a <c>ByteLevel</c> pre-tokenizer with <c>use_regex</c>.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public Dictionary<string, int> Vocab { get; } = new(StringComparer.Ordinal);

    public List<string> Merges { get; } = [];

    public List<AddedToken> AddedTokens { get; } = [];

    public string SplitPattern { get; private set; } = Gpt2Pattern;

    public bool AddPrefixSpace { get; private set; }

    public List<Func<string, string>> Normalizers { get; } = [];

    /// <summary>Why this file cannot be served as byte-level BPE, or null when it can.</summary>
    public string? UnsupportedReason { get; private set; }

    public static TokenizerJsonModel Parse(string path)
    {
        JsonDocument doc;
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            doc = JsonDocument.Parse(bytes);
            if (IO.JsonFile.Scan(bytes.AsSpan().StartsWith("\uFEFF"u8) ? bytes.AsSpan(3) : bytes, allowDuplicateKeys: true) is { } bad)
            {
                doc.Dispose();
                throw new InvalidDataException($"'{path}' is not valid JSON at line {bad.Line}, byte {bad.Position}: {bad.Detail}.");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var result = new TokenizerJsonModel();
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"'{path}' has no 'model' object; it is not a Hugging Face tokenizer.json.");
            }

            string type = model.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "BPE";
            if (type != "BPE")
            {
                result.UnsupportedReason = $"its model type is {type}; only BPE is supported";
                return result;
            }

            result.ReadPreTokenizer(root);
            result.ReadNormalizer(root);
            if (result.UnsupportedReason is not null)
            {
                return result;
            }

            if (model.TryGetProperty("byte_fallback", out JsonElement fallback) && fallback.ValueKind == JsonValueKind.True)
            {
                result.UnsupportedReason = "it uses byte_fallback (SentencePiece-style BPE)";
                return result;
            }

            result.ReadVocab(model, path);
            result.ReadMerges(model, path);
            result.ReadAddedTokens(root, path);
            return result;
        }
    }

    private void ReadPreTokenizer(JsonElement root)
    {
        bool byteLevel = false;
        string? split = null;
        bool byteLevelRegex = false;
        void Visit(JsonElement p)
        {
            if (p.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            switch (p.TryGetProperty("type", out JsonElement t) ? t.GetString() : null)
            {
                case "Sequence":
                    foreach (JsonElement inner in p.GetProperty("pretokenizers").EnumerateArray())
                    {
                        Visit(inner);
                    }

                    break;
                case "ByteLevel":
                    byteLevel = true;
                    byteLevelRegex |= !p.TryGetProperty("use_regex", out JsonElement useRegex) || useRegex.ValueKind != JsonValueKind.False;
                    AddPrefixSpace |= p.TryGetProperty("add_prefix_space", out JsonElement aps) && aps.ValueKind == JsonValueKind.True;
                    break;
                case "Split":
                    if (p.TryGetProperty("pattern", out JsonElement pattern) && pattern.TryGetProperty("Regex", out JsonElement regex))
                    {
                        split ??= regex.GetString();
                    }
                    else if (pattern.ValueKind == JsonValueKind.Object && pattern.TryGetProperty("String", out JsonElement literal))
                    {
                        split ??= System.Text.RegularExpressions.Regex.Escape(literal.GetString()!);
                    }

                    break;
                case "Digits":
                case "Punctuation":
                case "Whitespace":
                case "WhitespaceSplit":
                case "Metaspace":
                case "BertPreTokenizer":
                case "CharDelimiterSplit":
                    UnsupportedReason ??= $"its pre-tokenizer uses {t.GetString()}, which is not byte-level BPE";
                    break;
            }
        }

        if (root.TryGetProperty("pre_tokenizer", out JsonElement pre))
        {
            Visit(pre);
        }

        bool byteDecoder = root.TryGetProperty("decoder", out JsonElement decoder) && decoder.ValueKind == JsonValueKind.Object
            && decoder.TryGetProperty("type", out JsonElement dt) && dt.GetString() == "ByteLevel";
        if (!byteLevel && !byteDecoder)
        {
            UnsupportedReason ??= "it is not byte-level BPE (no ByteLevel pre-tokenizer or decoder)";
            return;
        }

        SplitPattern = split ?? (byteLevelRegex ? Gpt2Pattern : @"(?s).+");
    }

    private void ReadNormalizer(JsonElement root)
    {
        void Visit(JsonElement n)
        {
            if (n.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            string? type = n.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
            switch (type)
            {
                case "Sequence":
                    foreach (JsonElement inner in n.GetProperty("normalizers").EnumerateArray())
                    {
                        Visit(inner);
                    }

                    break;
                case "NFC":
                    Normalizers.Add(s => s.Normalize(NormalizationForm.FormC));
                    break;
                case "NFD":
                    Normalizers.Add(s => s.Normalize(NormalizationForm.FormD));
                    break;
                case "NFKC":
                    Normalizers.Add(s => s.Normalize(NormalizationForm.FormKC));
                    break;
                case "NFKD":
                    Normalizers.Add(s => s.Normalize(NormalizationForm.FormKD));
                    break;
                case "Lowercase":
                    Normalizers.Add(s => s.ToLower(CultureInfo.InvariantCulture));
                    break;
                default:
                    UnsupportedReason ??= $"its normalizer {type} is not supported";
                    break;
            }
        }

        if (root.TryGetProperty("normalizer", out JsonElement normalizer))
        {
            Visit(normalizer);
        }
    }

    private void ReadVocab(JsonElement model, string path)
    {
        if (!model.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}': model.vocab is missing or not an object.");
        }

        foreach (JsonProperty p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
            {
                throw new InvalidDataException($"'{path}': model.vocab entry '{p.Name}' is not a non-negative integer id.");
            }

            Vocab[p.Name] = id;
        }
    }

    private void ReadMerges(JsonElement model, string path)
    {
        if (!model.TryGetProperty("merges", out JsonElement merges) || merges.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"'{path}': model.merges is missing or not an array.");
        }

        foreach (JsonElement m in merges.EnumerateArray())
        {
            // Older files write "a b"; newer ones write ["a", "b"]. Byte-level tokens never contain a space.
            string? merge = m.ValueKind switch
            {
                JsonValueKind.String => m.GetString(),
                JsonValueKind.Array when m.GetArrayLength() == 2 => $"{m[0].GetString()} {m[1].GetString()}",
                _ => null,
            };
            if (merge is null || merge.Split(' ').Length != 2)
            {
                throw new InvalidDataException($"'{path}': model.merges entry {m.GetRawText()} is not a pair of tokens.");
            }

            Merges.Add(merge);
        }
    }

    private void ReadAddedTokens(JsonElement root, string path)
    {
        if (!root.TryGetProperty("added_tokens", out JsonElement added) || added.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (JsonElement t in added.EnumerateArray())
        {
            if (!t.TryGetProperty("id", out JsonElement id) || !id.TryGetInt32(out int value)
                || !t.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"'{path}': an added_tokens entry lacks an integer 'id' or a string 'content'.");
            }

            bool special = t.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True;
            AddedTokens.Add(new AddedToken(value, content.GetString()!, special));
        }
    }
}
