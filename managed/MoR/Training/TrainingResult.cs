namespace MoR.Training;

/// <summary>How a <see cref="Trainer.Run"/> ended.</summary>
/// <param name="Step">The last completed step.</param>
/// <param name="Completed">All steps ran (false when interrupted).</param>
/// <param name="LastLoss">The last step's mean loss (NaN if no step ran).</param>
/// <param name="LastEval">The last validation pass, if any.</param>
/// <param name="SkippedSteps">Steps skipped for non-finite values.</param>
/// <param name="Checkpoint">The last checkpoint written, if any.</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record TrainingResult(
    int Step, bool Completed, double LastLoss, EvalMetrics? LastEval, int SkippedSteps, string? Checkpoint, TimeSpan Elapsed);
