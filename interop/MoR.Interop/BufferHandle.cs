namespace MoR.Interop;

/// <summary>Owns a <c>mor_buffer</c>; keeps its <see cref="ContextHandle"/> open while it lives.</summary>
internal sealed unsafe class BufferHandle : ContextBoundHandle
{
    private BufferHandle(nint handle, ContextHandle? context, bool ownsHandle)
        : base(handle, context, ownsHandle)
    {
    }

    /// <summary>The NULL buffer, for optional arguments (for example dx in the adapter backward ops). Never disposed.</summary>
    public static BufferHandle Null { get; } = new(0, context: null, ownsHandle: false);

    /// <summary>The context the buffer was allocated on.</summary>
    public ContextHandle Context => OwningContext ?? throw new InvalidOperationException("The NULL buffer has no context.");

    /// <summary>Allocates <paramref name="numel"/> elements of <paramref name="dtype"/> on <paramref name="context"/>.</summary>
    /// <exception cref="NativeOutOfMemoryException">The allocation failed.</exception>
    public static BufferHandle Create(ContextHandle context, MorDType dtype, long numel, StreamHandle? stream = null) =>
        Create(
            context,
            nameof(NativeMethods.mor_buffer_create),
            raw => NativeMethods.mor_buffer_create(context, dtype, numel, stream ?? StreamHandle.Default, raw),
            (raw, owner) => new BufferHandle(raw, owner, ownsHandle: true));

    /// <inheritdoc/>
    protected override int Destroy(nint handle) => NativeMethods.mor_buffer_destroy(handle);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        // The shared Null instance must stay usable for every caller.
        if (!ReferenceEquals(this, Null))
        {
            base.Dispose(disposing);
        }
    }
}
