namespace MoR.Bench;

/// <summary>What the kernel says about this process: each peer run measures one cell, so the high-water mark is that cell's.</summary>
internal static class PeerProcess
{
    /// <summary>Peak resident set size (VmHWM of /proc/self/status) in bytes; -1 where there is no procfs.</summary>
    public static long PeakRssBytes()
    {
        const string Status = "/proc/self/status";
        if (!File.Exists(Status))
        {
            return -1;
        }

        string? line = File.ReadLines(Status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
