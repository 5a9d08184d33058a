namespace MoR.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> with a BPE model, run as Hugging Face runs it: byte-level files (LLaMA 3,
/// Qwen, SmolLM, GPT-2 family) and SentencePiece-style files (LLaMA 2, Mistral, Gemma: "▁" for spaces,
/// <c>byte_fallback</c> to <c>&lt;0xNN&gt;</c> tokens), which therefore need no <c>tokenizer.model</c>.
/// </summary>
/// <remarks>
/// Encoding: added tokens are found in the raw text first (longest match, left to right); each run between them is
/// normalized, split by the pre-tokenizer and merged by the BPE model. Decoding maps ids to token strings, leaves out
/// special tokens, runs the file's decoder and, when <c>tokenizer_config.json</c> says
/// <c>clean_up_tokenization_spaces</c>, removes spaces before punctuation. Ids and text equal Hugging Face's
/// JavaScript tokenizers on the real LLaMA 2, LLaMA 3, Qwen 3 and Gemma 3 files (tests/MoR.Tests/Tokenization/Golden).
/// </remarks>
public sealed class BpeTextTokenizer : ITextTokenizer
{
    private readonly TokenizerJsonModel _model;
    private readonly Dictionary<string, AddedToken> _addedByText = new(StringComparer.Ordinal);
    private readonly AddedTokenSplitter _rawSplitter;
    private readonly AddedTokenSplitter _normalizedSplitter;
    private readonly string?[] _idToToken;
    private readonly HashSet<string> _specialTexts = new(StringComparer.Ordinal);
    private readonly bool _cleanUpSpaces;

    private BpeTextTokenizer(TokenizerJsonModel model, TokenizerConfig config)
    {
        _model = model;
        var added = new List<AddedToken>(model.AddedTokens);

        // Tokens tokenizer_config.json adds that tokenizer.json lacks (e.g. chat markers a fine-tune introduced).
        foreach (AddedToken t in config.AddedTokens)
        {
            if (!model.TokenToId.ContainsKey(t.Content))
            {
                added.Add(t);
                model.TokenToId[t.Content] = t.Id;
            }
        }

        var raw = new List<string>();
        var normalized = new List<string>();
        foreach (AddedToken t in added)
        {
            _addedByText[t.Content] = t;
            if (t.Normalized && model.Normalizer is not null)
            {
                string form = model.Normalizer.Normalize(t.Content);
                _addedByText[form] = t;
                normalized.Add(form);
            }
            else
            {
                raw.Add(t.Content);
            }

            if (t.Special)
            {
                _specialTexts.Add(t.Content);
            }
        }

        _specialTexts.UnionWith(config.AdditionalSpecialTokens);
        _rawSplitter = new AddedTokenSplitter(raw, _addedByText);
        _normalizedSplitter = new AddedTokenSplitter(normalized, _addedByText);
        _cleanUpSpaces = config.CleanUpTokenizationSpaces ?? false;

        int maxId = model.TokenToId.Count == 0 ? -1 : model.TokenToId.Values.Max();
        _idToToken = new string?[maxId + 1];
        foreach ((string text, int id) in model.TokenToId)
        {
            // Added tokens were laid over the vocabulary last, so their text wins for a shared id.
            _idToToken[id] ??= text;
        }

        foreach (AddedToken t in added)
        {
            _idToToken[t.Id] = t.Content;
        }

        VocabSize = maxId + 1;
        BosId = Resolve(config.BosToken) ?? config.ConfigBosTokenId;
        EosId = Resolve(config.EosToken) ?? config.ConfigEosTokenId
            ?? throw new InvalidDataException("No end-of-sequence token: neither tokenizer_config.json's eos_token nor config.json's eos_token_id names one.");
        PadId = Resolve(config.PadToken);
    }

    /// <inheritdoc/>
    public int VocabSize { get; }

    /// <inheritdoc/>
    public int? BosId { get; }

    /// <inheritdoc/>
    public int EosId { get; }

    /// <inheritdoc/>
    public int? PadId { get; }

    /// <summary>Loads a BPE <c>tokenizer.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">Special-token and decoding settings; <see langword="null"/> for none.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="NotSupportedException">A component this library does not implement (the message names it).</exception>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    public static BpeTextTokenizer Load(string path, TokenizerConfig? config = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return TryLoad(path, config, out BpeTextTokenizer? tokenizer, out string? reason)
            ? tokenizer
            : throw new NotSupportedException($"'{path}' cannot be loaded: {reason}.");
    }

    /// <summary>Loads a <c>tokenizer.json</c> when this library supports it.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">Special-token and decoding settings; <see langword="null"/> for none.</param>
    /// <param name="tokenizer">The tokenizer, when supported.</param>
    /// <param name="reason">Why not, when not supported.</param>
    /// <returns>Whether it loaded.</returns>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    public static bool TryLoad(string path, TokenizerConfig? config, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BpeTextTokenizer? tokenizer, out string? reason)
    {
        TokenizerJsonModel model = TokenizerJsonModel.Parse(path);
        reason = model.UnsupportedReason;
        tokenizer = reason is null ? new BpeTextTokenizer(model, config ?? new TokenizerConfig()) : null;
        return tokenizer is not null;
    }

    /// <summary>Whether a <c>tokenizer.json</c> is one <see cref="Load"/> accepts.</summary>
    /// <param name="path">The file.</param>
    /// <param name="reason">Why not, when it is not.</param>
    /// <returns><see langword="true"/> when loadable.</returns>
    public static bool IsSupported(string path, out string? reason)
    {
        reason = TokenizerJsonModel.Parse(path).UnsupportedReason;
        return reason is null;
    }

    /// <inheritdoc/>
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addBos && BosId is int bos)
        {
            ids.Add(bos);
        }

        List<(string Text, AddedToken? Token)> sections = _rawSplitter.Split(text);
        for (int s = 0; s < sections.Count; s++)
        {
            (string section, AddedToken? token) = sections[s];
            if (section.Length == 0)
            {
                continue;
            }

            if (token is not null)
            {
                ids.Add(token.Id);
                continue;
            }

            string normalized = _model.Normalizer?.Normalize(section) ?? section;
            if (normalized.Length == 0)
            {
                continue;
            }

            foreach ((string piece, AddedToken? inner) in _normalizedSplitter.Split(normalized))
            {
                if (piece.Length == 0)
                {
                    continue;
                }

                if (inner is not null)
                {
                    ids.Add(inner.Id);
                    continue;
                }

                List<string> pieces = _model.PreTokenizer?.Split([piece], firstSection: s == 0) ?? [piece];
                _model.Model.Encode(pieces, ids);
            }
        }

        return [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids) => Decode(ids, skipSpecialTokens: true);

    /// <summary>Turns ids back into text.</summary>
    /// <param name="ids">Token ids in [0, <see cref="VocabSize"/>).</param>
    /// <param name="skipSpecialTokens">Leave out special tokens (BOS, EOS, chat markers), as <see cref="Decode(ReadOnlySpan{int})"/> does.</param>
    /// <returns>The text.</returns>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id outside the vocabulary [0, {VocabSize}).");
            }

            string token = _idToToken[id] ?? string.Empty;
            if (!skipSpecialTokens || !_specialTexts.Contains(token))
            {
                tokens.Add(token);
            }
        }

        string text = _model.Decoder is TokenDecoder decoder ? string.Concat(decoder.Decode(tokens)) : string.Join(' ', tokens);
        return _cleanUpSpaces ? CleanUpSpaces(text) : text;
    }

    /// <inheritdoc/>
    public bool TryGetTokenId(string token, out int id) => _model.TokenToId.TryGetValue(token, out id);

    // transformers' clean_up_tokenization, replacement by replacement.
    private static string CleanUpSpaces(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    private int? Resolve(string? token) => token is not null && TryGetTokenId(token, out int id) ? id : null;
}
