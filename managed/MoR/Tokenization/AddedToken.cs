namespace MoR.Tokenization;

/// <summary>A token added on top of a base vocabulary (<c>added_tokens</c> / <c>added_tokens_decoder</c>).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">Its text, matched atomically in input.</param>
/// <param name="Special">Whether decoding leaves it out.</param>
public sealed record AddedToken(int Id, string Content, bool Special)
{
    /// <summary><c>lstrip</c>: whitespace before the token is removed when it is found in text.</summary>
    public bool LeftStrip { get; init; }

    /// <summary><c>rstrip</c>: whitespace after the token is removed when it is found in text.</summary>
    public bool RightStrip { get; init; }

    /// <summary><c>normalized</c>: the token is matched in normalized text (e.g. with spaces already turned into
    /// "▁") rather than in the raw input. Hugging Face defaults it to the opposite of <see cref="Special"/>.</summary>
    public bool Normalized { get; init; }
}
