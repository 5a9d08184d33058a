namespace MoR.Tokenization;

/// <summary>Text ↔ token ids, the way a model was trained to see them.</summary>
public interface ITextTokenizer
{
    /// <summary>Number of ids (the largest id + 1); a model's <c>vocab_size</c> may be larger (padding).</summary>
    int VocabSize { get; }

    /// <summary>The beginning-of-sequence id, or <see langword="null"/> if the tokenizer has none.</summary>
    int? BosId { get; }

    /// <summary>The end-of-sequence id: generation stops here.</summary>
    int EosId { get; }

    /// <summary>The padding id, or <see langword="null"/> if the tokenizer defines none.</summary>
    int? PadId { get; }

    /// <summary>Tokenizes text. Special tokens written in the text (e.g. <c>&lt;|im_start|&gt;</c>, where the
    /// tokenizer defines them as atomic added tokens) become their ids.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addBos">Prepend <see cref="BosId"/> (when there is one).</param>
    /// <returns>The ids.</returns>
    int[] Encode(string text, bool addBos);

    /// <summary>Turns ids back into text, leaving out special tokens (BOS, EOS, padding, chat markers).
    /// Invalid UTF-8 (e.g. a multi-byte character cut in two) becomes U+FFFD.</summary>
    /// <param name="ids">Token ids in [0, <see cref="VocabSize"/>).</param>
    /// <returns>The text.</returns>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>The id of a token given by its string form (a special token such as <c>&lt;|eot_id|&gt;</c>, or a vocabulary entry).</summary>
    /// <param name="token">The token's string.</param>
    /// <param name="id">Its id.</param>
    /// <returns>Whether the tokenizer has the token.</returns>
    bool TryGetTokenId(string token, out int id);
}
