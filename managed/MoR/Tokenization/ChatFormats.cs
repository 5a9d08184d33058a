namespace MoR.Tokenization;

/// <summary>Picks the chat format of a model: its own <c>chat_template</c> by default, a built-in format when named.</summary>
public static class ChatFormats
{
    /// <summary>The name that asks for the model's own <c>chat_template</c> explicitly.</summary>
    public const string ModelTemplate = "template";

    /// <summary>Every accepted format name: <c>template</c> and the built-in formats.</summary>
    public static IReadOnlyList<string> Names { get; } = [ModelTemplate, "llama2", "llama3", "chatml", "zephyr", "mistral"];

    /// <summary>The chat format for a model directory.</summary>
    /// <param name="directory">The model directory.</param>
    /// <param name="format">A built-in format's name (<c>llama2</c>, <c>llama3</c>, <c>chatml</c>, <c>zephyr</c>,
    /// <c>mistral</c>), or <see langword="null"/> / <c>template</c> for the model's own <c>chat_template</c>.</param>
    /// <returns>The format.</returns>
    /// <exception cref="InvalidOperationException">The model has no <c>chat_template</c> and no built-in format was named.</exception>
    /// <exception cref="Templates.TemplateException">The model's template does not parse.</exception>
    /// <exception cref="ArgumentException">An unknown format name.</exception>
    public static IChatFormat FromDirectory(string directory, string? format = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (format is not null && !string.Equals(format, ModelTemplate, StringComparison.OrdinalIgnoreCase))
        {
            return ChatFormatter.FromDirectory(directory, ChatFormatter.ParseKind(format));
        }

        return ChatTemplate.FromDirectory(directory) ?? throw new InvalidOperationException(
            $"'{directory}' has no chat template ({ChatTemplate.TemplateFileName}, or chat_template in {TokenizerConfig.FileName}); choose a built-in chat format (--chat-format llama2, llama3, chatml, zephyr or mistral).");
    }
}
