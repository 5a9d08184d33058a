using System.Diagnostics;

namespace MoR.Benchmarks;

/// <summary>The process's resident-memory high-water mark, which includes what native and managed heaps hold.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size in bytes (Linux: <c>VmHWM</c>; elsewhere the peak working set).</summary>
    public static long PeakResidentBytes()
    {
        if (OperatingSystem.IsLinux())
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    // "VmHWM:     123456 kB" (spaces or a tab after the colon, depending on the kernel)
                    string[] parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }

        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>
    /// Starts a new high-water mark at the current resident size (Linux ≥ 4.0: <c>/proc/self/clear_refs</c>);
    /// false where the OS cannot, in which case <see cref="PeakResidentBytes"/> stays the process-lifetime peak.
    /// </summary>
    public static bool TryResetPeak()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
