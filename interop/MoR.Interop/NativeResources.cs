using System.Collections.Concurrent;

namespace MoR.Interop;

/// <summary>
/// The process-wide queue of native objects whose handles were finalized rather than disposed.
/// They are freed on an ordinary thread: at the start of every native allocation made through
/// the handles' Create methods, and by <see cref="DrainDeferredFrees"/>.
/// </summary>
internal static class NativeResources
{
    private static readonly ConcurrentQueue<MorSafeHandle> s_deferred = new();
    private static long s_failedFrees;

    /// <summary>Objects queued by finalizers and not yet freed.</summary>
    public static int PendingCount => s_deferred.Count;

    /// <summary>Native destroy calls made by a drain that returned an error (a bug if ever non-zero).</summary>
    public static long FailedFrees => Interlocked.Read(ref s_failedFrees);

    /// <summary>Frees every object finalizers have queued so far.</summary>
    /// <returns>How many objects were freed.</returns>
    public static int DrainDeferredFrees()
    {
        int freed = 0;
        while (s_deferred.TryDequeue(out MorSafeHandle? handle))
        {
            // Nothing can report an error to the code that dropped the handle; count it for diagnostics.
            if (!handle.FreeNative())
            {
                Interlocked.Increment(ref s_failedFrees);
            }

            freed++;
        }

        return freed;
    }

    /// <summary>Called from a finalizer: keeps the handle (and what it owns) alive until the next drain.</summary>
    internal static void DeferFree(MorSafeHandle handle) => s_deferred.Enqueue(handle);
}
