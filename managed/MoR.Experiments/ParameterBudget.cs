using MoR.Adapters;

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

    /// <summary>Trainable adapter parameters of a method at a rank (and expert count) over the given projections.</summary>
    /// <param name="method">A registered method's name.</param>
    /// <param name="rank">r.</param>
    /// <param name="experts">N for routed methods.</param>
    /// <param name="layers">(d_in, d_out) of every adapted projection.</param>
    /// <returns>The count, from the method's own footprint.</returns>
    public static long Count(string method, int rank, int experts, IEnumerable<(int In, int Out)> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        AdapterConfig c = new MethodSpec(method, method, rank, experts).Adapter([]) ?? throw new ArgumentException("Full fine-tuning has no adapter count.", nameof(method));
        return (long)layers.Sum(l => c.Method.Footprint(c, l.In, l.Out).Parameters);
    }

    /// <summary>The LoRA rank whose count is closest to <paramref name="target"/> (ties: the larger rank).</summary>
    public static int MatchLoRARank(long target, IReadOnlyList<(int In, int Out)> layers) =>
        Closest(r => Count(LoRAMethod.Instance.Name, r, 1, layers), target);

    /// <summary>The MoE-LoRA per-expert rank (N experts) making <c>morCount / moeCount</c> closest to <paramref name="ratio"/>.</summary>
    public static int MatchMoELoRARank(long morCount, int experts, IReadOnlyList<(int In, int Out)> layers, double ratio = PaperMoRToMoELoRARatio)
    {
        int best = 1;
        double bestGap = double.MaxValue;
        for (int r = 1; r <= 512; r++)
        {
            double gap = Math.Abs(((double)morCount / Count(MoELoRAMethod.Instance.Name, r, experts, layers)) - ratio);
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
