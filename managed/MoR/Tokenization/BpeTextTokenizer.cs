using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MoR.Tokenization;

/// <summary>
/// A byte-level BPE <c>tokenizer.json</c> (LLaMA 3, SmolLM and other GPT-2-style vocabularies), run by
/// Microsoft.ML.Tokenizers' <c>BpeTokenizer</c> from the vocabulary, merges, added tokens and split regex
/// parsed out of the file.
/// </summary>
/// <remarks>
/// Known difference: files with <c>"ignore_merges": true</c> (LLaMA 3) emit a whole pre-token when it is
/// itself in the vocabulary; here merges always run. For vocabularies converted from tiktoken, as LLaMA 3's
/// is, both paths reach the same tokens for ordinary text.
/// </remarks>
public sealed class BpeTextTokenizer : ITextTokenizer
{
    private readonly BpeTokenizer _tokenizer;
    private readonly Dictionary<string, int> _added;
    private readonly Dictionary<string, int> _vocab;
    private readonly List<Func<string, string>> _normalizers;
    private readonly bool _addPrefixSpace;

    private BpeTextTokenizer(TokenizerJsonModel model, TokenizerConfig config)
    {
        _vocab = model.Vocab;
        _added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedToken t in model.AddedTokens)
        {
            _added[t.Content] = t.Id;
        }

        foreach (AddedToken t in config.AddedTokens)
        {
            _added.TryAdd(t.Content, t.Id);
        }

        _normalizers = model.Normalizers;
        _addPrefixSpace = model.AddPrefixSpace;
        var options = new BpeOptions(model.Vocab)
        {
            Merges = model.Merges,
            ByteLevel = true,
            SpecialTokens = _added.Count > 0 ? _added : null,
            PreTokenizer = new RegexPreTokenizer(new Regex(model.SplitPattern, RegexOptions.Compiled), _added.Count > 0 ? _added : null),
        };
        _tokenizer = BpeTokenizer.Create(options);

        int maxId = Math.Max(model.Vocab.Count == 0 ? -1 : model.Vocab.Values.Max(), _added.Count == 0 ? -1 : _added.Values.Max());
        VocabSize = maxId + 1;
        BosId = Resolve(config.BosToken) ?? config.ConfigBosTokenId;
        EosId = Resolve(config.EosToken) ?? config.ConfigEosTokenId
            ?? throw new InvalidDataException("No end-of-sequence token: neither tokenizer_config.json's eos_token nor config.json's eos_token_id names one.");
        PadId = Resolve(config.PadToken);
    }

    /// <summary>The underlying Microsoft.ML.Tokenizers tokenizer.</summary>
    public BpeTokenizer Inner => _tokenizer;

    /// <inheritdoc/>
    public int VocabSize { get; }

    /// <inheritdoc/>
    public int? BosId { get; }

    /// <inheritdoc/>
    public int EosId { get; }

    /// <inheritdoc/>
    public int? PadId { get; }

    /// <summary>Loads a byte-level BPE <c>tokenizer.json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="config">Special-token settings (BOS/EOS/PAD names); <see langword="null"/> for none.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="NotSupportedException">The file is not byte-level BPE (e.g. SentencePiece-style with
    /// byte fallback: load its <c>tokenizer.model</c> instead).</exception>
    public static BpeTextTokenizer Load(string path, TokenizerConfig? config = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TokenizerJsonModel model = TokenizerJsonModel.Parse(path);
        if (model.UnsupportedReason is string reason)
        {
            throw new NotSupportedException($"'{path}' cannot be loaded as byte-level BPE: {reason}.");
        }

        return new BpeTextTokenizer(model, config ?? new TokenizerConfig());
    }

    /// <summary>Whether a <c>tokenizer.json</c> is byte-level BPE that <see cref="Load"/> accepts.</summary>
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
        foreach (Func<string, string> normalize in _normalizers)
        {
            text = normalize(text);
        }

        if (_addPrefixSpace && !text.StartsWith(' '))
        {
            text = " " + text;
        }

        IReadOnlyList<int> ids = _tokenizer.EncodeToIds(text);
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
        _added.TryGetValue(token, out id) || _vocab.TryGetValue(token, out id);

    private int? Resolve(string? token) => token is not null && TryGetTokenId(token, out int id) ? id : null;
}
