namespace MoR.Tokenization;

/// <summary>A tokenized conversation.</summary>
/// <param name="Ids">The token ids.</param>
/// <param name="IsAssistant">Per id: whether it belongs to an assistant reply (use as the loss mask when training).</param>
public sealed record ChatEncoding(int[] Ids, bool[] IsAssistant);
