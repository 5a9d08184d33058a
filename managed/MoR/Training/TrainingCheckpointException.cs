namespace MoR.Training;

/// <summary>
/// A checkpoint folder cannot be read: a file is missing or corrupt, its <c>trainer_state.json</c> holds
/// impossible values, or a saved tensor is mis-sized or not finite. The message names the folder (and the
/// file or tensor). A resume from an output folder then falls back to an older checkpoint.
/// </summary>
public sealed class TrainingCheckpointException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="checkpoint">The checkpoint folder.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="innerException">The error behind it, if any.</param>
    public TrainingCheckpointException(string checkpoint, string detail, Exception? innerException = null)
        : base($"Checkpoint '{checkpoint}' is unreadable: {detail}", innerException)
    {
        Checkpoint = checkpoint;
        Detail = detail;
    }

    private TrainingCheckpointException(string root, string detail, string message)
        : base(message)
    {
        Checkpoint = root;
        Detail = detail;
    }

    /// <summary>The checkpoint folder (or the folder searched, when none could be read).</summary>
    public string Checkpoint { get; }

    /// <summary>What is wrong, without the folder name.</summary>
    public string Detail { get; }

    /// <summary>No checkpoint under <paramref name="root"/> can be read: one error giving each one's reason.</summary>
    /// <param name="root">The folder searched.</param>
    /// <param name="failures">Every checkpoint tried, newest first, with its reason.</param>
    /// <returns>The exception.</returns>
    public static TrainingCheckpointException NoneReadable(string root, IReadOnlyList<SkippedCheckpoint> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        string detail = string.Join("; ", failures.Select(f => $"{Path.GetFileName(f.Checkpoint)}: {f.Reason}"));
        return new TrainingCheckpointException(root, detail, $"No readable checkpoint in '{root}' ({failures.Count} tried): {detail}");
    }
}
