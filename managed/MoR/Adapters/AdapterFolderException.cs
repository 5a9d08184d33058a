namespace MoR.Adapters;

/// <summary>
/// An adapter folder cannot be used with a model: its config is unknown or unsupported, or a tensor is
/// missing, unexpected or mis-shaped. The message names the file, the field or tensor, and what is wrong.
/// </summary>
public sealed class AdapterFolderException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="directory">The adapter folder.</param>
    /// <param name="subject">The config field or tensor key at fault.</param>
    /// <param name="detail">What is wrong.</param>
    public AdapterFolderException(string directory, string subject, string detail)
        : base($"Adapter '{directory}': {subject}: {detail}")
    {
        Directory = directory;
        Subject = subject;
    }

    /// <summary>The adapter folder.</summary>
    public string Directory { get; }

    /// <summary>The config field or tensor key at fault.</summary>
    public string Subject { get; }
}
