using MoR.Interop;

namespace MoR;

/// <summary>
/// What the native library is and holds: where it was loaded from (and everything tried), its build,
/// live handle counts, and the queue of objects finalizers left to free.
/// </summary>
public static unsafe class NativeDiagnostics
{
    /// <summary>
    /// The AppContext switch that turns on timing of every native call for the op breakdown of a training step
    /// (<c>mor bench train</c>). Off by default; set it before the first native call (the benchmark hosts do).
    /// </summary>
    public const string NativeCallTimingSwitch = NativeCallTimer.Switch;

    /// <summary>The native ABI version this managed code was written against.</summary>
    public const int ExpectedAbiVersion = NativeMethods.AbiVersion;

    /// <summary>The ABI version the loaded native library reports (loads it if needed).</summary>
    /// <exception cref="NativeLibraryLoadException">The library cannot be loaded or its version differs.</exception>
    public static int AbiVersion => NativeMethods.mor_abi_version();

    /// <summary>The native build description, e.g. <c>mor 0.1.0; abi 1; cpu: openblas; cuda: 11.8 sm_80,sm_90</c>.</summary>
    /// <exception cref="NativeLibraryLoadException">The library cannot be loaded.</exception>
    public static string BuildInfo
    {
        get
        {
            byte* info;
            NativeCall.Check(NativeMethods.mor_build_info(&info), nameof(NativeMethods.mor_build_info));
            return NativeCall.ReadUtf8(info);
        }
    }

    /// <summary>The file the native library was loaded from; null before it is loaded.</summary>
    public static string? LibraryPath => NativeLibraryResolver.LoadedPath;

    /// <summary>Every place tried when the native library was loaded, in order; empty before the first native call.</summary>
    public static IReadOnlyList<NativeLibraryProbe> ProbeTrace => NativeLibraryResolver.ProbeTrace;

    /// <summary>Objects whose handles were finalized and not yet freed.</summary>
    public static int PendingDeferredFrees => NativeResources.PendingCount;

    /// <summary>Live native contexts, streams and buffers in the process, after freeing what finalizers have queued.</summary>
    /// <exception cref="NativeLibraryLoadException">The library cannot be loaded.</exception>
    public static NativeHandleStats HandleStats
    {
        get
        {
            NativeResources.DrainDeferredFrees();
            MorHandleStats stats;
            NativeCall.Check(NativeMethods.mor_handle_stats_get(&stats), nameof(NativeMethods.mor_handle_stats_get));
            return new NativeHandleStats(stats.Contexts, stats.Streams, stats.Buffers);
        }
    }

    /// <summary>Loads the native library now (normally it loads on first use) and returns its path.</summary>
    /// <exception cref="NativeLibraryLoadException">No candidate loads, or the ABI version differs; the message lists every path tried.</exception>
    public static string EnsureLoaded()
    {
        NativeLibraryResolver.Load();
        return NativeLibraryResolver.LoadedPath!;
    }

    /// <summary>
    /// Frees now the native objects of tensors that were collected without being disposed (this also
    /// happens at the start of every native allocation).
    /// </summary>
    /// <returns>How many objects were freed.</returns>
    public static int DrainDeferredFrees() => NativeResources.DrainDeferredFrees();
}
