using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary><c>mor_allocator_stats</c>: one context's caching allocator counters.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MorAllocatorStats
{
    public long LiveBytes;
    public long LiveAllocations;
    public long PeakBytes;
    public long CachedBytes;
    public long ReservedBytes;
    public long SystemAllocations;
}
