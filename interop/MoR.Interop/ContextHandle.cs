namespace MoR.Interop;

/// <summary>Owns a <c>mor_context</c>. The native context is reference counted by its buffers and streams.</summary>
internal sealed unsafe class ContextHandle : MorSafeHandle
{
    private ContextHandle(nint handle)
        : base(handle, ownsHandle: true)
    {
    }

    /// <summary>Creates a context on a backend's device.</summary>
    /// <exception cref="DeviceUnavailableException">The backend or device is not available.</exception>
    public static ContextHandle Create(MorBackend backend, int device)
    {
        NativeResources.DrainDeferredFrees();
        nint raw;
        NativeCall.Check(NativeMethods.mor_context_create(backend, device, &raw), nameof(NativeMethods.mor_context_create));
        return new ContextHandle(raw);
    }

    /// <inheritdoc/>
    internal override bool FreeNative() => NativeMethods.mor_context_destroy(handle) == 0;
}
