using System.Globalization;

namespace MoR;

/// <summary>
/// The memory a run can still allocate before it starts: on the CPU the host's MemAvailable (/proc/meminfo), or
/// what the process's cgroup (v2 <c>memory.max</c>, v1 <c>memory.limit_in_bytes</c>, at its level or any level
/// above) leaves when that is lower; on CUDA the device's free memory.
/// </summary>
/// <remarks>
/// A cgroup's usage counts page cache, which the kernel reclaims under pressure, so (as container runtimes do) its
/// inactive file pages are not counted as used. Outside Linux, the runtime's view of physical memory is the limit.
/// </remarks>
public static class AvailableMemory
{
    /// <summary>A cgroup limit at or above this means "no limit" (v1 reports 2^63 rounded down to a page).</summary>
    private const long Unlimited = 1L << 60;

    /// <summary>What a run on <paramref name="device"/> can still allocate.</summary>
    /// <param name="device">The device.</param>
    /// <returns>The limit and its source.</returns>
    public static MemoryLimit For(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.Kind == DeviceKind.Cuda
            ? new MemoryLimit(device.FreeMemoryBytes, $"free memory on {device.Name}")
            : Host();
    }

    /// <summary>What this process can still allocate on the host.</summary>
    /// <returns>The lowest of MemAvailable and the cgroup limits that apply.</returns>
    public static MemoryLimit Host() => Host("/proc", "/sys/fs/cgroup");

    /// <summary><see cref="Host()"/> with the file-system roots as parameters (tests point them at fixtures).</summary>
    /// <param name="proc">Where <c>meminfo</c> and <c>self/cgroup</c> are.</param>
    /// <param name="cgroupRoot">Where the cgroup hierarchies are mounted.</param>
    /// <returns>The lowest limit found, or the runtime's physical-memory figure when no file could be read.</returns>
    public static MemoryLimit Host(string proc, string cgroupRoot)
    {
        var limits = new List<MemoryLimit>();
        if (MemAvailable(Path.Combine(proc, "meminfo")) is long available)
        {
            limits.Add(new MemoryLimit(available, "MemAvailable in /proc/meminfo"));
        }

        limits.AddRange(CgroupLimits(Path.Combine(proc, "self", "cgroup"), cgroupRoot));
        return limits.Count > 0
            ? limits.MinBy(l => l.Bytes)!
            : new MemoryLimit(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "the physical memory the runtime reports");
    }

    private static long? MemAvailable(string meminfo)
    {
        foreach (string line in ReadLines(meminfo))
        {
            // "MemAvailable:   23722596 kB"
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
                {
                    return kib * 1024;
                }
            }
        }

        return null;
    }

    private static List<MemoryLimit> CgroupLimits(string selfCgroup, string root)
    {
        var limits = new List<MemoryLimit>();
        foreach (string line in ReadLines(selfCgroup))
        {
            // v2: "0::/path"; v1: "4:memory:/path" (controllers may be listed together: "4:cpu,memory:/path").
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (parts[0] == "0" && parts[1].Length == 0)
            {
                foreach (string dir in Levels(root, parts[2]))
                {
                    if (Remaining(dir, "memory.max", "memory.current", "inactive_file") is long left)
                    {
                        limits.Add(new MemoryLimit(left, $"the cgroup v2 limit {Path.Combine(dir, "memory.max")}"));
                    }
                }
            }
            else if (parts[1].Split(',').Contains("memory"))
            {
                foreach (string dir in Levels(Path.Combine(root, "memory"), parts[2]))
                {
                    if (Remaining(dir, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file") is long left)
                    {
                        limits.Add(new MemoryLimit(left, $"the cgroup v1 limit {Path.Combine(dir, "memory.limit_in_bytes")}"));
                    }
                }
            }
        }

        return limits;
    }

    // The process's own cgroup folder and every one above it up to the mount: a parent's limit binds too. (Inside a
    // container the path may not exist under the mount; the mount itself is then the container's cgroup.)
    private static IEnumerable<string> Levels(string mount, string path)
    {
        string current = mount;
        yield return current;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            yield return current;
        }
    }

    private static long? Remaining(string dir, string limitFile, string usageFile, string inactiveKey)
    {
        if (ReadNumber(Path.Combine(dir, limitFile)) is not long limit || limit >= Unlimited)
        {
            return null;
        }

        long usage = ReadNumber(Path.Combine(dir, usageFile)) ?? 0;
        long inactive = 0;
        foreach (string line in ReadLines(Path.Combine(dir, "memory.stat")))
        {
            string[] kv = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (kv.Length == 2 && kv[0] == inactiveKey && long.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                inactive = value;
            }
        }

        return Math.Max(0, limit - Math.Max(0, usage - inactive));
    }

    // v2 writes "max" for no limit, which is not a number: null, like a missing file.
    private static long? ReadNumber(string file)
    {
        string? text = ReadLines(file).FirstOrDefault();
        return text is not null && long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;
    }

    private static IEnumerable<string> ReadLines(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadAllLines(file) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
