namespace MoR.Model;

/// <summary>The summed next-token loss of a batch and how many targets it covers.</summary>
/// <param name="LossSum">Σ over non-ignored targets of −log p(target), in nats.</param>
/// <param name="Tokens">The number of non-ignored targets.</param>
/// <param name="RouterBalanceSum">
/// The router balance term B̄ (mean over routed layers of N·Σ_i P_i², docs/METHODS.md MoR.6) of each training pass with a
/// balance weight, summed over passes; 0 otherwise. Reported apart from the token loss.
/// </param>
public readonly record struct LossResult(double LossSum, long Tokens, double RouterBalanceSum = 0)
{
    /// <summary>The mean loss per target (NaN when there are none).</summary>
    public double Mean => Tokens > 0 ? LossSum / Tokens : double.NaN;

    /// <summary>Sums two results (for accumulating micro-batches or evaluation shards).</summary>
    public static LossResult operator +(LossResult a, LossResult b) =>
        new(a.LossSum + b.LossSum, a.Tokens + b.Tokens, a.RouterBalanceSum + b.RouterBalanceSum);
}
