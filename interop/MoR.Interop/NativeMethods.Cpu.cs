using System.Runtime.InteropServices;

namespace MoR.Interop;

internal static unsafe partial class NativeMethods
{
    // ---- CPU threads ----

    [LibraryImport(LibraryName)]
    public static partial int mor_cpu_set_threads(int threads);

    [LibraryImport(LibraryName)]
    public static partial int mor_cpu_get_threads(int* threads);

    [LibraryImport(LibraryName)]
    public static partial int mor_cpu_thread_stats_get(MorCpuThreadStats* stats);
}
