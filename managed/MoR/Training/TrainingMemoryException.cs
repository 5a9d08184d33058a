namespace MoR.Training;

/// <summary>
/// A training run would need more memory than the device (or host) has free, by <see cref="TrainingMemoryEstimate"/>;
/// nothing was allocated. The message gives the estimate with its largest parts, the limit and its source, and the
/// settings to lower.
/// </summary>
public sealed class TrainingMemoryException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="estimate">The estimate.</param>
    /// <param name="needed">The bytes that exceed the limit (the device part, or everything on the CPU).</param>
    /// <param name="breakdown">The largest parts of <paramref name="needed"/>, as text.</param>
    /// <param name="limit">The limit and its source.</param>
    /// <param name="advice">What to lower.</param>
    public TrainingMemoryException(TrainingMemoryEstimate estimate, double needed, string breakdown, MemoryLimit limit, string advice)
        : base($"this run needs about {TrainingMemoryEstimate.Format(needed)} ({breakdown}) but only {TrainingMemoryEstimate.Format(Math.Max(0, limit?.Bytes ?? 0))} is available ({limit?.Source}); {advice}")
    {
        ArgumentNullException.ThrowIfNull(estimate);
        ArgumentNullException.ThrowIfNull(limit);
        Estimate = estimate;
        Needed = needed;
        Limit = limit;
    }

    /// <summary>The estimate.</summary>
    public TrainingMemoryEstimate Estimate { get; }

    /// <summary>The bytes that exceed the limit.</summary>
    public double Needed { get; }

    /// <summary>The limit and its source.</summary>
    public MemoryLimit Limit { get; }
}
