namespace MoR;

/// <summary>Live native handles over the whole process: what leak checks compare against a baseline.</summary>
/// <param name="Contexts">Live device contexts (one per device in use, plus any held by tests).</param>
/// <param name="Streams">Live streams.</param>
/// <param name="Buffers">Live buffers (tensors and workspaces).</param>
public readonly record struct NativeHandleStats(long Contexts, long Streams, long Buffers);
