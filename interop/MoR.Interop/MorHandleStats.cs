using System.Runtime.InteropServices;

namespace MoR.Interop;

/// <summary><c>mor_handle_stats</c>: live native handles over the whole process.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MorHandleStats
{
    public long Contexts;
    public long Streams;
    public long Buffers;
}
