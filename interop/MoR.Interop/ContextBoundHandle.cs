namespace MoR.Interop;

/// <summary>
/// A handle to a native object that belongs to a context (a buffer or a stream). It holds a reference on its
/// <see cref="ContextHandle"/> from creation until the native object is destroyed, so a context can never be
/// finalized before the objects allocated on it.
/// </summary>
internal abstract unsafe class ContextBoundHandle : MorSafeHandle
{
    private readonly ContextHandle? _context;

    protected ContextBoundHandle(nint handle, ContextHandle? context, bool ownsHandle)
        : base(handle, ownsHandle) => _context = context;

    /// <summary>The native create call: writes the new object's handle through its argument.</summary>
    protected delegate int NativeCreate(nint* handle);

    /// <summary>The context the object was created on, or null for a shared NULL handle.</summary>
    protected ContextHandle? OwningContext => _context;

    /// <inheritdoc/>
    internal sealed override bool FreeNative()
    {
        bool ok = Destroy(handle) == 0;
        _context?.DangerousRelease();
        return ok;
    }

    /// <summary>The native destroy call for this kind of object.</summary>
    protected abstract int Destroy(nint handle);

    /// <summary>
    /// Creates a native object on <paramref name="context"/> and wraps it, taking the context reference first and
    /// giving it back if the native call fails. Drains finalized objects first, so they are freed on this thread.
    /// </summary>
    protected static T Create<T>(ContextHandle context, string operation, NativeCreate create, Func<nint, ContextHandle, T> wrap)
        where T : ContextBoundHandle
    {
        ArgumentNullException.ThrowIfNull(context);
        NativeResources.DrainDeferredFrees();
        bool addedRef = false;
        try
        {
            context.DangerousAddRef(ref addedRef);
            nint raw;
            NativeCall.Check(create(&raw), operation);
            return wrap(raw, context);
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
}
