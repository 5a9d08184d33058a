namespace MoR.IO;

/// <summary>A checkpoint's weights do not match its config: a tensor is missing, mis-shaped, or of a dtype
/// MoR cannot compute in. The message names the tensor.</summary>
public sealed class CheckpointMismatchException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="checkpoint">The checkpoint location.</param>
    /// <param name="tensorName">The offending tensor.</param>
    /// <param name="detail">What is wrong.</param>
    public CheckpointMismatchException(string checkpoint, string tensorName, string detail)
        : base($"Checkpoint '{checkpoint}' does not match its config: tensor '{tensorName}': {detail}")
    {
        Checkpoint = checkpoint;
        TensorName = tensorName;
    }

    /// <summary>The checkpoint location.</summary>
    public string Checkpoint { get; }

    /// <summary>The offending tensor.</summary>
    public string TensorName { get; }
}
