namespace MoR.Training;

/// <summary>
/// Linear warm-up to the peak, then a half-cosine down to <c>minRatio</c>·peak at the last step
/// (the schedule of HF's <c>get_cosine_schedule_with_warmup</c>, with a floor).
/// </summary>
/// <param name="peak">The peak learning rate.</param>
/// <param name="warmupSteps">Steps of linear warm-up.</param>
/// <param name="totalSteps">All steps of the run.</param>
/// <param name="minRatio">The floor as a fraction of the peak.</param>
public sealed class CosineSchedule(float peak, int warmupSteps, int totalSteps, float minRatio = 0f)
{
    /// <summary>The schedule an options record asks for.</summary>
    public static CosineSchedule From(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new CosineSchedule(options.LearningRate, options.WarmupSteps, options.MaxSteps, options.MinLearningRateRatio);
    }

    /// <summary>The learning rate of 1-based step <paramref name="step"/>.</summary>
    public float At(int step)
    {
        if (warmupSteps > 0 && step <= warmupSteps)
        {
            return peak * step / warmupSteps;
        }

        int decaySteps = Math.Max(1, totalSteps - warmupSteps);
        double progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return (float)(peak * (minRatio + ((1 - minRatio) * cosine)));
    }
}
