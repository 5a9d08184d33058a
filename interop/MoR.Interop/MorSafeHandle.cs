using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary>
/// Base of the handles that own native MoR objects. <see cref="SafeHandle.Dispose()"/> frees at once;
/// a finalizer really frees too, but not on the finalizer thread: it queues the object on
/// <see cref="NativeResources"/>, which frees it on the next allocation or explicit drain.
/// </summary>
/// <remarks>
/// Destroying a buffer or stream enqueues work on, and activates, the owning CUDA context. Doing that on
/// the finalizer thread while an application thread is using the same context or stream is not safe,
/// so only ordinary threads ever call the native destroy functions.
/// </remarks>
internal abstract class MorSafeHandle : SafeHandle
{
    // Set only while this thread runs SafeHandle's finalizer path (Dispose(false)); ReleaseHandle runs
    // synchronously inside it when the last reference goes, so the flag tells the two paths apart.
    [ThreadStatic]
    private static bool t_finalizing;

    protected MorSafeHandle(nint handle, bool ownsHandle)
        : base(0, ownsHandle) => SetHandle(handle);

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>Calls the native destroy function and releases what this handle keeps alive.</summary>
    /// <returns><see langword="true"/> when the native destroy succeeded.</returns>
    internal abstract bool FreeNative();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            base.Dispose(disposing);
            return;
        }

        t_finalizing = true;
        try
        {
            base.Dispose(disposing);
        }
        finally
        {
            t_finalizing = false;
        }
    }

    /// <inheritdoc/>
    protected sealed override bool ReleaseHandle()
    {
        if (t_finalizing)
        {
            NativeResources.DeferFree(this);
            return true;
        }

        return FreeNative();
    }
}
