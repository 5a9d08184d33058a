namespace MoR;

/// <summary>A device's caching-allocator counters, as the native library reports them.</summary>
/// <param name="LiveBytes">Bytes in buffers handed out and not yet freed.</param>
/// <param name="LiveAllocations">Buffers handed out and not yet freed.</param>
/// <param name="PeakBytes">High-water mark of <paramref name="LiveBytes"/> since creation or the last reset.</param>
/// <param name="CachedBytes">Freed blocks kept for reuse.</param>
/// <param name="ReservedBytes">Bytes obtained from the system (live plus cached).</param>
/// <param name="SystemAllocations">Calls to the underlying malloc/cudaMalloc; constant in a steady training loop.</param>
public readonly record struct AllocatorStats(
    long LiveBytes,
    long LiveAllocations,
    long PeakBytes,
    long CachedBytes,
    long ReservedBytes,
    long SystemAllocations);
