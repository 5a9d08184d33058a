using Microsoft.ML.Tokenizers;

namespace MoR.Tokenization;

/// <summary>A SentencePiece <c>tokenizer.model</c> (LLaMA 1/2, Mistral, TinyLlama), through Microsoft.ML.Tokenizers.</summary>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    private readonly SentencePieceTokenizer _tokenizer;
    private readonly Dictionary<string, int> _addedTokens;

    private SentencePieceTextTokenizer(SentencePieceTokenizer tokenizer, Dictionary<string, int> addedTokens, TokenizerConfig config)
    {
        _tokenizer = tokenizer;
        _addedTokens = addedTokens;
        int maxAdded = addedTokens.Count == 0 ? -1 : addedTokens.Values.Max();
        VocabSize = Math.Max(tokenizer.Vocabulary.Count, maxAdded + 1);
        BosId = Resolve(config.BosToken) ?? (tokenizer.BeginningOfSentenceId >= 0 ? tokenizer.BeginningOfSentenceId : config.ConfigBosTokenId);
        EosId = Resolve(config.EosToken) ?? (tokenizer.EndOfSentenceId >= 0 ? tokenizer.EndOfSentenceId : config.ConfigEosTokenId)
            ?? throw new InvalidDataException("The SentencePiece model defines no end-of-sequence token.");
        PadId = Resolve(config.PadToken);
    }

    /// <summary>The underlying Microsoft.ML.Tokenizers tokenizer.</summary>
    public SentencePieceTokenizer Inner => _tokenizer;

    /// <inheritdoc/>
    public int VocabSize { get; }

    /// <inheritdoc/>
    public int? BosId { get; }

    /// <inheritdoc/>
    public int EosId { get; }

    /// <inheritdoc/>
    public int? PadId { get; }

    /// <summary>Loads a <c>tokenizer.model</c>.</summary>
    /// <param name="modelPath">The SentencePiece model (BPE or unigram).</param>
    /// <param name="config">Special-token settings; <see langword="null"/> uses the model's own BOS/EOS.</param>
    /// <returns>The tokenizer.</returns>
    public static SentencePieceTextTokenizer Load(string modelPath, TokenizerConfig? config = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        config ??= new TokenizerConfig();

        // Tokens added on top of the model (e.g. chat markers a fine-tune introduced) are matched atomically.
        Dictionary<string, int> added = config.AddedTokens.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        SentencePieceTokenizer tokenizer;
        using (FileStream stream = File.OpenRead(modelPath))
        {
            try
            {
                tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false, specialTokens: added.Count > 0 ? added : null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidDataException($"'{modelPath}' is not a SentencePiece model Microsoft.ML.Tokenizers can load: {e.Message}", e);
            }
        }

        return new SentencePieceTextTokenizer(tokenizer, added, config);
    }

    /// <inheritdoc/>
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<int> ids = _tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        return addBos && BosId is int bos ? [bos, .. ids] : [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        int[] copy = ids.ToArray();
        foreach (int id in copy)
        {
            if ((uint)id >= (uint)VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id outside the vocabulary [0, {VocabSize}).");
            }
        }

        return _tokenizer.Decode(copy, considerSpecialTokens: false);
    }

    /// <inheritdoc/>
    public bool TryGetTokenId(string token, out int id) =>
        _addedTokens.TryGetValue(token, out id) || _tokenizer.Vocabulary.TryGetValue(token, out id);

    private int? Resolve(string? token) => token is not null && TryGetTokenId(token, out int id) ? id : null;
}
