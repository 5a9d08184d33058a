namespace MoR.Interop;

/// <summary>Owns a <c>mor_stream</c>; keeps its <see cref="ContextHandle"/> open while it lives.</summary>
internal sealed unsafe class StreamHandle : ContextBoundHandle
{
    private StreamHandle(nint handle, ContextHandle? context, bool ownsHandle)
        : base(handle, context, ownsHandle)
    {
    }

    /// <summary>The NULL stream: "the context's default stream" in every native call. Never disposed.</summary>
    public static StreamHandle Default { get; } = new(0, context: null, ownsHandle: false);

    /// <summary>Creates a stream on <paramref name="context"/>.</summary>
    public static StreamHandle Create(ContextHandle context) =>
        Create(
            context,
            nameof(NativeMethods.mor_stream_create),
            raw => NativeMethods.mor_stream_create(context, raw),
            (raw, owner) => new StreamHandle(raw, owner, ownsHandle: true));

    /// <inheritdoc/>
    protected override int Destroy(nint handle) => NativeMethods.mor_stream_destroy(handle);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        // The shared Default instance must stay usable for every caller.
        if (!ReferenceEquals(this, Default))
        {
            base.Dispose(disposing);
        }
    }
}
