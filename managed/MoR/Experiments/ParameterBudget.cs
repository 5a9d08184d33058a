using MoR.Training;

namespace MoR.Experiments;

/// <summary>
/// Trainable-parameter counts of the adapter methods (MOR.md §2) over a set of adapted layers, and the
/// budget matching the comparison needs: LoRA's rank raised to MoR's count, MoE-LoRA's expert rank set so
/// that MoR has ≈ 94 % of its parameters (the paper's ratio).
/// </summary>
public static class ParameterBudget
{
    /// <summary>The paper's MoR / MoE-LoRA parameter ratio.</summary>
    public const double PaperMoRToMoELoRARatio = 0.94;

    /// <summary>Trainable values of <paramref name="method"/> over layers of shapes (in, out).</summary>
    public static long Count(TrainingMethod method, int rank, int experts, IEnumerable<(int In, int Out)> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        long total = 0;
        foreach ((int din, int dout) in layers)
        {
            long r = rank, n = experts;
            total += method switch
            {
                TrainingMethod.LoRA => r * (din + dout),
                TrainingMethod.DoRA => (r * (din + dout)) + dout,
                TrainingMethod.MoR => (r * (din + dout)) + (n * (r + dout)) + (n * din),
                TrainingMethod.MoELoRA => (n * r * (din + dout)) + (n * din),
                _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Full fine-tuning has no adapter count."),
            };
        }

        return total;
    }

    /// <summary>The LoRA rank whose count is closest to <paramref name="target"/> (ties: the larger rank).</summary>
    public static int MatchLoRARank(long target, IReadOnlyList<(int In, int Out)> layers) =>
        Closest(r => Count(TrainingMethod.LoRA, r, 1, layers), target);

    /// <summary>The MoE-LoRA per-expert rank (N experts) making <c>morCount / moeCount</c> closest to <paramref name="ratio"/>.</summary>
    public static int MatchMoELoRARank(long morCount, int experts, IReadOnlyList<(int In, int Out)> layers, double ratio = PaperMoRToMoELoRARatio)
    {
        int best = 1;
        double bestGap = double.MaxValue;
        for (int r = 1; r <= 512; r++)
        {
            double gap = Math.Abs(((double)morCount / Count(TrainingMethod.MoELoRA, r, experts, layers)) - ratio);
            if (gap < bestGap)
            {
                (best, bestGap) = (r, gap);
            }
        }

        return best;
    }

    private static int Closest(Func<int, long> count, long target)
    {
        int best = 1;
        long bestGap = long.MaxValue;
        for (int r = 1; r <= 2048; r++)
        {
            long gap = Math.Abs(count(r) - target);
            if (gap <= bestGap)
            {
                (best, bestGap) = (r, gap);
            }
        }

        return best;
    }
}
