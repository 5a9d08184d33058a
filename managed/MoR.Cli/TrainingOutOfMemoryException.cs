using MoR.Interop;

namespace MoR.Cli;

/// <summary>A native out-of-memory during training, with the run's sizes (tokens per micro-batch, parameters, allocator use) for the message.</summary>
/// <param name="inner">The native failure (its message names the allocation that failed).</param>
/// <param name="sizes">What the run was holding and asking for.</param>
internal sealed class TrainingOutOfMemoryException(NativeOutOfMemoryException inner, string sizes)
    : Exception($"{inner.NativeMessage} ({sizes})", inner)
{
    /// <summary>What the run was holding and asking for.</summary>
    public string Sizes { get; } = sizes;

    /// <summary>The native library's message.</summary>
    public string NativeMessage => inner.NativeMessage;
}
