namespace MoR.Training;

/// <summary>A validation pass (the <see cref="Trainer.EvalCompleted"/> payload).</summary>
/// <param name="Step">The step after which it ran.</param>
/// <param name="Loss">Mean token loss.</param>
/// <param name="Tokens">Target tokens evaluated.</param>
public sealed record EvalMetrics(int Step, double Loss, long Tokens)
{
    /// <summary>exp(loss).</summary>
    public double Perplexity => Math.Exp(Loss);
}
