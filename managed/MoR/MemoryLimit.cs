namespace MoR;

/// <summary>How much memory a run may still use on a device, and where that number came from (for messages).</summary>
/// <param name="Bytes">The bytes available.</param>
/// <param name="Source">What limits it, e.g. <c>MemAvailable in /proc/meminfo</c> or <c>the cgroup v2 limit memory.max</c>.</param>
public sealed record MemoryLimit(long Bytes, string Source);
