namespace MoR.Model;

/// <summary>What <see cref="Generator.Generate"/> produced.</summary>
/// <param name="Tokens">The generated ids, without the prompt and without the stop token.</param>
/// <param name="FinishReason">Why generation ended.</param>
public sealed record GenerationResult(int[] Tokens, GenerationFinishReason FinishReason);

/// <summary>Why generation ended.</summary>
public enum GenerationFinishReason
{
    /// <summary>A stop or EOS token was produced (or the caller stopped it).</summary>
    Stop,

    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> was reached.</summary>
    Length,
}
