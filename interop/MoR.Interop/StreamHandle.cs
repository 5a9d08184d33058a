namespace MoR.Interop;

/// <summary>Owns a <c>mor_stream</c>; keeps its <see cref="ContextHandle"/> open while it lives.</summary>
internal sealed unsafe class StreamHandle : MorSafeHandle
{
    private readonly ContextHandle? _context;

    private StreamHandle(nint handle, ContextHandle? context, bool ownsHandle)
        : base(handle, ownsHandle) => _context = context;

    /// <summary>The NULL stream: "the context's default stream" in every native call. Never disposed.</summary>
    public static StreamHandle Default { get; } = new(0, context: null, ownsHandle: false);

    /// <summary>Creates a stream on <paramref name="context"/>.</summary>
    public static StreamHandle Create(ContextHandle context)
    {
        ArgumentNullException.ThrowIfNull(context);
        NativeResources.DrainDeferredFrees();
        bool addedRef = false;
        try
        {
            context.DangerousAddRef(ref addedRef);
            nint raw;
            NativeCall.Check(NativeMethods.mor_stream_create(context, &raw), nameof(NativeMethods.mor_stream_create));
            return new StreamHandle(raw, context, ownsHandle: true);
        }
        catch
        {
            if (addedRef)
            {
                context.DangerousRelease();
            }

            throw;
        }
    }

    /// <inheritdoc/>
    internal override bool FreeNative()
    {
        bool ok = NativeMethods.mor_stream_destroy(handle) == 0;
        _context?.DangerousRelease();
        return ok;
    }

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
