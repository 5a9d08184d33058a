using MoR.Tests.IO;

namespace MoR.Tests;

/// <summary><see cref="AvailableMemory.Host(string, string)"/> on fixture /proc and cgroup trees: the lowest of MemAvailable and the cgroup limits, page cache not counted as used.</summary>
public sealed class AvailableMemoryTests
{
    private const long GiB = 1L << 30, MiB = 1L << 20;

    [Fact]
    public void Without_a_cgroup_limit_MemAvailable_is_the_limit()
    {
        using var root = new TempDirectory();
        Write(root, "proc/meminfo", "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   23722596 kB\n");
        Write(root, "proc/self/cgroup", "0::/\n");
        Write(root, "cgroup/memory.max", "max\n");  // v2's "no limit"

        MemoryLimit limit = AvailableMemory.Host(Path.Combine(root.Path, "proc"), Path.Combine(root.Path, "cgroup"));

        Assert.Equal(23722596L * 1024, limit.Bytes);
        Assert.Equal("MemAvailable in /proc/meminfo", limit.Source);
    }

    [Fact]
    public void A_cgroup_v2_limit_below_MemAvailable_wins_with_inactive_file_pages_not_counted()
    {
        using var root = new TempDirectory();
        Write(root, "proc/meminfo", $"MemAvailable: {8 * GiB / 1024} kB\n");
        Write(root, "proc/self/cgroup", "0::/user.slice/job\n");
        Write(root, "cgroup/user.slice/memory.max", $"{3 * GiB}\n");             // a parent's limit binds as well
        Write(root, "cgroup/user.slice/memory.current", $"{2 * GiB}\n");
        Write(root, "cgroup/user.slice/job/memory.max", $"{GiB}\n");
        Write(root, "cgroup/user.slice/job/memory.current", $"{600 * MiB}\n");
        Write(root, "cgroup/user.slice/job/memory.stat", $"anon {500 * MiB}\ninactive_file {100 * MiB}\nactive_file 0\n");

        MemoryLimit limit = AvailableMemory.Host(Path.Combine(root.Path, "proc"), Path.Combine(root.Path, "cgroup"));

        Assert.Equal(GiB - (500 * MiB), limit.Bytes);
        Assert.Contains("cgroup v2", limit.Source, StringComparison.Ordinal);
        Assert.EndsWith(Path.Combine("job", "memory.max"), limit.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cgroup_v1_memory_limit_is_read_from_the_memory_hierarchy()
    {
        using var root = new TempDirectory();
        Write(root, "proc/meminfo", $"MemAvailable: {16 * GiB / 1024} kB\n");
        Write(root, "proc/self/cgroup", "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n");
        Write(root, "cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");  // v1's "no limit" at the root
        Write(root, "cgroup/memory/docker/abc/memory.limit_in_bytes", $"{2 * GiB}\n");
        Write(root, "cgroup/memory/docker/abc/memory.usage_in_bytes", $"{GiB}\n");
        Write(root, "cgroup/memory/docker/abc/memory.stat", $"cache {600 * MiB}\ntotal_inactive_file {512 * MiB}\n");

        MemoryLimit limit = AvailableMemory.Host(Path.Combine(root.Path, "proc"), Path.Combine(root.Path, "cgroup"));

        Assert.Equal((2 * GiB) - (GiB - (512 * MiB)), limit.Bytes);
        Assert.Contains("cgroup v1", limit.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_limit_already_exceeded_leaves_nothing()
    {
        using var root = new TempDirectory();
        Write(root, "proc/meminfo", $"MemAvailable: {GiB / 1024} kB\n");
        Write(root, "proc/self/cgroup", "0::/\n");
        Write(root, "cgroup/memory.max", $"{GiB}\n");
        Write(root, "cgroup/memory.current", $"{2 * GiB}\n");
        Assert.Equal(0, AvailableMemory.Host(Path.Combine(root.Path, "proc"), Path.Combine(root.Path, "cgroup")).Bytes);
    }

    [Fact]
    public void With_no_readable_file_the_runtime_figure_is_used()
    {
        using var root = new TempDirectory();
        MemoryLimit limit = AvailableMemory.Host(Path.Combine(root.Path, "none"), Path.Combine(root.Path, "none"));
        Assert.True(limit.Bytes > 0);
        Assert.Equal("the physical memory the runtime reports", limit.Source);
    }

    [Fact]
    public void This_machine_reports_a_positive_limit_for_the_cpu()
    {
        MemoryLimit limit = AvailableMemory.For(Device.Cpu);
        Assert.True(limit.Bytes > 0, limit.Source);
    }

    private static void Write(TempDirectory root, string relative, string text)
    {
        string path = Path.Combine(root.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
