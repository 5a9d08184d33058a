namespace MoR.IO;

/// <summary>A Hugging Face <c>config.json</c> is malformed or describes something MoR does not support.
/// The message names the file and the field.</summary>
public sealed class LlamaConfigException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file (or a description of where the config came from).</param>
    /// <param name="field">The offending field, e.g. <c>rope_scaling.factor</c>.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="innerException">The parser error behind it, if any.</param>
    public LlamaConfigException(string source, string field, string detail, Exception? innerException = null)
        : base($"Invalid model config '{source}': field '{field}': {detail}", innerException)
    {
        FilePath = source;
        Field = field;
    }

    /// <summary>The file (or a description of where the config came from).</summary>
    public string FilePath { get; }

    /// <summary>The offending field.</summary>
    public string Field { get; }
}
