using System.Text.Json;

namespace MoR.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> with a BPE model, read into its pipeline: added tokens, normalizer,
/// pre-tokenizer, model and decoder. Microsoft.ML.Tokenizers 2.0.1 cannot read this file, so it is parsed here.
/// </summary>
internal sealed class TokenizerJsonModel
{
    private TokenizerJsonModel()
    {
    }

    /// <summary>Why the file cannot be served, or <see langword="null"/> when it can.</summary>
    public string? UnsupportedReason { get; private init; }

    public TextNormalizer? Normalizer { get; private set; }

    public PreTokenizer? PreTokenizer { get; private set; }

    public BpeModel Model { get; private set; } = null!;

    public TokenDecoder? Decoder { get; private set; }

    /// <summary>Every token by text (vocabulary, with added tokens laid over it).</summary>
    public Dictionary<string, int> TokenToId { get; } = new(StringComparer.Ordinal);

    /// <summary><c>added_tokens</c>, in file order.</summary>
    public List<AddedToken> AddedTokens { get; } = [];

    /// <summary>Parses the file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The model; check <see cref="UnsupportedReason"/> before using it.</returns>
    /// <exception cref="InvalidDataException">Not JSON, not a tokenizer.json, or a malformed vocabulary, merge list or added token.</exception>
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
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || JsonFields.Property(root, "model") is not { ValueKind: JsonValueKind.Object } model)
            {
                throw new InvalidDataException($"'{path}' has no 'model' object; it is not a Hugging Face tokenizer.json.");
            }

            var result = new TokenizerJsonModel();
            try
            {
                // The model first: a WordPiece or Unigram file is refused for that before anything else. The model
                // shares TokenToId, so added tokens (laid over it below) count as vocabulary, as in the reference.
                result.Model = BpeModel.Parse(model, result.TokenToId, path);
                result.Normalizer = TextNormalizer.Parse(JsonFields.Property(root, "normalizer"));
                result.PreTokenizer = PreTokenizer.Parse(JsonFields.Property(root, "pre_tokenizer"));
                result.ReadAddedTokens(root, path);
                result.Decoder = TokenDecoder.Parse(
                    JsonFields.Property(root, "decoder"), result.AddedTokens.Select(t => t.Content).ToHashSet(StringComparer.Ordinal));
                return result;
            }
            catch (UnsupportedTokenizerException e)
            {
                return new TokenizerJsonModel { UnsupportedReason = e.Message };
            }
        }
    }

    private void ReadAddedTokens(JsonElement root, string path)
    {
        foreach (JsonElement t in JsonFields.Items(root, "added_tokens"))
        {
            if (JsonFields.Int(t, "id") is not int id || id < 0 || JsonFields.String(t, "content") is not string content)
            {
                throw new InvalidDataException($"'{path}': an added_tokens entry lacks a non-negative integer 'id' or a string 'content'.");
            }

            bool special = JsonFields.Bool(t, "special");
            AddedTokens.Add(new AddedToken(id, content, special)
            {
                LeftStrip = JsonFields.Bool(t, "lstrip"),
                RightStrip = JsonFields.Bool(t, "rstrip"),
                Normalized = JsonFields.Bool(t, "normalized", absent: !special),
            });
            TokenToId[content] = id;
        }
    }
}
