namespace MoR.Training;

/// <summary>A summed token loss and the number of tokens it covers.</summary>
/// <param name="LossSum">Σ over target tokens of −log p(target).</param>
/// <param name="Tokens">The number of target tokens (ignored ones excluded).</param>
/// <param name="RouterBalanceSum">
/// Σ over the covered micro-batches of the router balance value B̄ (mean over routed layers of N·Σ_i P_i²,
/// <see cref="Adapters.RouterBalanceLoss"/>), unweighted; 0 when the balance term is off.
/// </param>
public readonly record struct TrainingLoss(double LossSum, long Tokens, double RouterBalanceSum = 0)
{
    /// <summary>The mean loss per token (NaN with no tokens).</summary>
    public double Mean => Tokens == 0 ? double.NaN : LossSum / Tokens;

    /// <summary>Component-wise sum.</summary>
    public static TrainingLoss operator +(TrainingLoss a, TrainingLoss b) => new(a.LossSum + b.LossSum, a.Tokens + b.Tokens, a.RouterBalanceSum + b.RouterBalanceSum);

    /// <summary>Component-wise sum (the named form of <c>+</c>).</summary>
    public static TrainingLoss Add(TrainingLoss a, TrainingLoss b) => a + b;
}
