namespace MoR.Tokenization;

/// <summary>A piece of a rendered conversation.</summary>
/// <param name="Text">The text, or for a special token its string form (e.g. <c>&lt;|eot_id|&gt;</c>).</param>
/// <param name="IsSpecialToken">Whether <see cref="Text"/> is one special token, encoded by id rather than as text.</param>
/// <param name="IsAssistant">Whether this is what the assistant wrote (its content and end-of-turn token): the part a model is trained on.</param>
public sealed record ChatSegment(string Text, bool IsSpecialToken, bool IsAssistant);
