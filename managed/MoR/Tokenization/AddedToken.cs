namespace MoR.Tokenization;

/// <summary>A token added on top of a base vocabulary (<c>added_tokens</c> / <c>added_tokens_decoder</c>).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">Its text, matched atomically in input.</param>
/// <param name="Special">Whether decoding leaves it out.</param>
public sealed record AddedToken(int Id, string Content, bool Special);
