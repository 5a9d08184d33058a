namespace MoR.Tokenization;

/// <summary>
/// Turns a conversation into the text and tokens a chat model expects: the model's own Jinja
/// <c>chat_template</c> (<see cref="ChatTemplate"/>) or one of the built-in formats (<see cref="ChatFormatter"/>).
/// </summary>
public interface IChatFormat
{
    /// <summary>What the format is, for messages (e.g. <c>chatml</c>, or the file a template came from).</summary>
    string Name { get; }

    /// <summary>Token strings that end an assistant turn: generation stops at any of them.</summary>
    IReadOnlyList<string> StopTokens { get; }

    /// <summary>Renders a conversation to text.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="addGenerationPrompt">Append the header that opens the assistant's reply.</param>
    /// <returns>The text, special tokens written out; encode it without adding BOS (the format includes it where the model wants it).</returns>
    string Format(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt);

    /// <summary>Tokenizes the rendered conversation, with a per-token mask of the assistant's replies where the format can tell them.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="messages">The conversation.</param>
    /// <param name="addGenerationPrompt">Append the header that opens the assistant's reply.</param>
    /// <returns>Ids and assistant mask.</returns>
    ChatEncoding Encode(ITextTokenizer tokenizer, IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt);

    /// <summary>Tokenizes a conversation for training: ids, and the mask of the assistant's tokens that take a loss.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="messages">The conversation.</param>
    /// <returns>Ids and assistant mask.</returns>
    ChatEncoding EncodeForTraining(ITextTokenizer tokenizer, IReadOnlyList<ChatTurn> messages);
}
