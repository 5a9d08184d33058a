namespace MoR.Training;

/// <summary>A checkpoint a resume passed over because it could not be read, and why.</summary>
/// <param name="Checkpoint">The folder.</param>
/// <param name="Reason">The error, in one line.</param>
public sealed record SkippedCheckpoint(string Checkpoint, string Reason);
