namespace MoR.Training;

/// <summary>What one optimizer step did (the <see cref="Trainer.StepCompleted"/> payload and one metrics.jsonl line).</summary>
/// <param name="Step">The 1-based step just finished.</param>
/// <param name="MaxSteps">The run's last step.</param>
/// <param name="Loss">Mean token loss over the step's micro-batches.</param>
/// <param name="LearningRate">The learning rate used.</param>
/// <param name="GradNorm">The global gradient norm before clipping.</param>
/// <param name="Tokens">Target tokens in the step.</param>
/// <param name="TokensPerSecond">Input tokens per second over this step.</param>
/// <param name="Elapsed">Wall time since the run (or resume) started.</param>
/// <param name="Eta">Estimated time to <paramref name="MaxSteps"/>.</param>
/// <param name="Skipped">The step was skipped for a non-finite loss or gradient.</param>
/// <param name="SkippedTotal">Skipped steps so far.</param>
/// <param name="RouterBalanceLoss">
/// The router balance term added to the objective, α·(mean over micro-batches and routed layers of N·Σ_i P_i²)
/// (<see cref="TrainingOptions.RouterBalanceLoss"/> = α); 0 when it is off. Not included in <paramref name="Loss"/>.
/// </param>
public sealed record StepMetrics(
    int Step, int MaxSteps, double Loss, float LearningRate, double GradNorm, long Tokens, double TokensPerSecond,
    TimeSpan Elapsed, TimeSpan Eta, bool Skipped, int SkippedTotal, double RouterBalanceLoss = 0);
