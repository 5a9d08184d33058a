using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary><c>mor_cpu_thread_stats</c>: what the CPU backend's thread pool has done since the process started.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MorCpuThreadStats
{
    public long SerialLoops;
    public long ParallelLoops;
    public long InlineLoops;
    public long WorkerSleeps;
    public int Threads;
    public int Workers;
}
