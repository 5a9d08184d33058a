namespace MoR.Tokenization;

/// <summary>How <see cref="ChatTemplate"/> finds the assistant's tokens of a rendered conversation for training.</summary>
public enum AssistantMaskStrategy
{
    /// <summary>The template marks them with <c>{% generation %}</c> blocks.</summary>
    GenerationBlocks,

    /// <summary>Reply i is what rendering messages[..i+1] adds to rendering messages[..i] with the generation prompt,
    /// and every such rendering is a prefix of the whole conversation's.</summary>
    PrefixDifference,

    /// <summary>The template rewrites earlier turns (Qwen3 drops earlier reasoning, gpt-oss ends only the last reply
    /// with &lt;|return|&gt;): each reply is rendered in the context the model sees when it writes it, and these
    /// renderings are concatenated (the history repeats once per reply).</summary>
    TurnByTurn,
}
