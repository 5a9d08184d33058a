namespace MoR.Benchmarks;

/// <summary>Wall-clock times of the measured iterations of one benchmark (warm-up excluded), in milliseconds.</summary>
/// <param name="Iterations">How many iterations were measured.</param>
/// <param name="MinMs">The fastest iteration: the least disturbed by other work on the machine.</param>
/// <param name="MedianMs">The median iteration: what comparisons and overheads use.</param>
/// <param name="MaxMs">The slowest iteration.</param>
public sealed record TimingSummary(int Iterations, double MinMs, double MedianMs, double MaxMs)
{
    /// <summary>Summarises per-iteration times.</summary>
    /// <exception cref="ArgumentException">No samples, or a sample that is negative or not finite.</exception>
    public static TimingSummary FromSamples(ReadOnlySpan<double> samplesMs)
    {
        if (samplesMs.IsEmpty)
        {
            throw new ArgumentException("At least one timing sample is needed.", nameof(samplesMs));
        }

        double[] sorted = samplesMs.ToArray();
        foreach (double sample in sorted)
        {
            if (!double.IsFinite(sample) || sample < 0)
            {
                throw new ArgumentException($"Timing sample {sample} is not a finite, non-negative time.", nameof(samplesMs));
            }
        }

        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new TimingSummary(sorted.Length, sorted[0], median, sorted[^1]);
    }
}
