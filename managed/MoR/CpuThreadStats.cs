namespace MoR;

/// <summary>What the CPU backend's thread pool has done since the process started (<see cref="Device.CpuThreadStats"/>).</summary>
/// <param name="SerialLoops">Parallel loops with too little work to share: run on the calling thread alone.</param>
/// <param name="ParallelLoops">Loops shared with the pool's worker threads.</param>
/// <param name="InlineLoops">Loops of several chunks run on the calling thread: nested in another loop, one thread
/// configured, or the pool busy with another thread's loop.</param>
/// <param name="WorkerSleeps">Times a worker found nothing to do for a while and went to sleep.</param>
/// <param name="Threads">The configured thread count (<see cref="Device.CpuThreads"/>).</param>
/// <param name="Workers">Worker threads started (one fewer than <paramref name="Threads"/> once a loop needed them).</param>
public readonly record struct CpuThreadStats(
    long SerialLoops, long ParallelLoops, long InlineLoops, long WorkerSleeps, int Threads, int Workers);
