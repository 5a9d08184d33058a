using System.Runtime.InteropServices;

namespace MoR.IO;

/// <summary>
/// Drops pages of a read-only file mapping from this process's resident set once their bytes have been copied
/// out. The page cache keeps them and a later access faults them back in, so views stay valid; what changes is
/// that loading a checkpoint does not hold the mapped file and its copy at once (peak RSS ≈ 1× the file, not 2×).
/// </summary>
internal static unsafe partial class MappedPages
{
    private const int MadvDontNeed = 4; // Linux MADV_DONTNEED
    private static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>Releases the whole pages inside [start, start + length); a no-op where the OS has no such call.</summary>
    public static void Release(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return;
        }

        long first = ((long)start + PageSize - 1) / PageSize * PageSize;
        long end = ((long)start + length) / PageSize * PageSize;
        if (end > first)
        {
            // Advisory: a failure only means the pages stay resident until the file is unmapped.
            _ = madvise((void*)first, (nuint)(end - first), MadvDontNeed);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(void* address, nuint length, int advice);
}
