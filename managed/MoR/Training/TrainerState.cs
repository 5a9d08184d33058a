using MoR.Data;

namespace MoR.Training;

/// <summary>
/// The scalar part of a checkpoint (<c>trainer_state.json</c>): with the parameters and the AdamW
/// moments it is everything a resume needs to continue bit for bit.
/// </summary>
/// <param name="FormatVersion">Layout version of the checkpoint folder.</param>
/// <param name="Step">Completed steps (the next step is Step + 1).</param>
/// <param name="OptimizerSteps">AdamW's t (smaller than Step when steps were skipped).</param>
/// <param name="SkippedSteps">Steps skipped for non-finite values.</param>
/// <param name="Data">The training data cursor.</param>
/// <param name="ParameterNames">Parameter names in order, to refuse a checkpoint of another model.</param>
/// <param name="ParameterShapes">Parameter shapes in order.</param>
/// <param name="Options">The options of the run that wrote it.</param>
public sealed record TrainerState(
    int FormatVersion, int Step, long OptimizerSteps, int SkippedSteps, DataCursor Data,
    string[] ParameterNames, long[][] ParameterShapes, TrainingOptions Options)
{
    /// <summary>The current <see cref="FormatVersion"/>.</summary>
    public const int CurrentFormatVersion = 1;
}
