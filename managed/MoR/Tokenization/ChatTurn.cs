namespace MoR.Tokenization;

/// <summary>One message of a conversation.</summary>
/// <param name="Role"><c>system</c>, <c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">The message text.</param>
public sealed record ChatTurn(string Role, string Content)
{
    /// <summary>A system message.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The turn.</returns>
    public static ChatTurn System(string content) => new("system", content);

    /// <summary>A user message.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The turn.</returns>
    public static ChatTurn User(string content) => new("user", content);

    /// <summary>An assistant message.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The turn.</returns>
    public static ChatTurn Assistant(string content) => new("assistant", content);
}
