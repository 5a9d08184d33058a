using System.Diagnostics;

namespace MoR.Benchmarks;

/// <summary>
/// Stopwatch timing of work that may run asynchronously on a device: the device is synchronised before
/// the clock starts (nothing earlier is counted) and before it stops (everything queued is counted).
/// </summary>
public static class IterationTimer
{
    /// <summary>The wall-clock time of one call of <paramref name="body"/>, in milliseconds.</summary>
    /// <param name="body">The work.</param>
    /// <param name="synchronize">Waits for queued device work (for example <see cref="Device.Synchronize"/>).</param>
    public static double TimeOnce(Action body, Action synchronize)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(synchronize);
        synchronize();
        long start = Stopwatch.GetTimestamp();
        body();
        synchronize();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>Runs <paramref name="warmup"/> untimed calls, then times <paramref name="iterations"/> calls one by one.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> &lt; 1 or <paramref name="warmup"/> &lt; 0.</exception>
    public static TimingSummary Measure(Action body, Action synchronize, int warmup, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        for (int i = 0; i < warmup; i++)
        {
            TimeOnce(body, synchronize);
        }

        double[] samples = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            samples[i] = TimeOnce(body, synchronize);
        }

        return TimingSummary.FromSamples(samples);
    }

    /// <summary>
    /// Times several bodies taking turns — one call of each per round, <paramref name="warmup"/> untimed rounds
    /// first — so that a burst of other work on the machine lands on all of them rather than on one.
    /// </summary>
    /// <returns>One summary per body, in order.</returns>
    /// <exception cref="ArgumentException">No bodies.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="iterations"/> &lt; 1 or <paramref name="warmup"/> &lt; 0.</exception>
    public static TimingSummary[] MeasureInTurns(IReadOnlyList<Action> bodies, Action synchronize, int warmup, int iterations)
    {
        ArgumentNullException.ThrowIfNull(bodies);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        if (bodies.Count == 0)
        {
            throw new ArgumentException("At least one body to time is needed.", nameof(bodies));
        }

        double[][] samples = [.. bodies.Select(_ => new double[iterations])];
        for (int round = -warmup; round < iterations; round++)
        {
            for (int b = 0; b < bodies.Count; b++)
            {
                double ms = TimeOnce(bodies[b], synchronize);
                if (round >= 0)
                {
                    samples[b][round] = ms;
                }
            }
        }

        return [.. samples.Select(s => TimingSummary.FromSamples(s))];
    }
}
