using MoR.Model;
using MoR.Data;
using MoR.Training;

namespace MoR.Experiments;

/// <summary>One training run with its curves and throughput.</summary>
/// <param name="TrainableParameters">Trainable values.</param>
/// <param name="TokensPerSecond">
/// Steady-state training throughput: input tokens per second of the median optimizer step after the warm-up steps
/// (<see cref="WarmupSteps"/>). Evaluation is never timed (the trainer times each step alone).
/// </param>
/// <param name="TrainCurve">Loss per step.</param>
/// <param name="EvalCurve">Validation loss at each evaluation.</param>
public sealed record TrainingMeasurement(long TrainableParameters, double TokensPerSecond, IReadOnlyList<CurvePoint> TrainCurve, IReadOnlyList<CurvePoint> EvalCurve)
{
    /// <summary>
    /// Steps left out of the throughput: the first ones pay for JIT compilation, first-touch allocations of the
    /// activation buffers and the BLAS thread pool's start (the old mean over all steps, first run included,
    /// had a spread across seeds larger than its mean).
    /// </summary>
    public static int WarmupSteps(int steps) => Math.Min(steps - 1, Math.Max(1, steps / 10));

    /// <summary>
    /// The median of per-step rates after <see cref="WarmupSteps"/>: robust to the bursts of other jobs on shared
    /// cores, which stall a few steps for far longer than a step takes.
    /// </summary>
    public static double SteadyTokensPerSecond(IReadOnlyList<double> stepRates)
    {
        ArgumentNullException.ThrowIfNull(stepRates);
        if (stepRates.Count == 0)
        {
            return double.NaN;
        }

        double[] steady = [.. stepRates.Skip(WarmupSteps(stepRates.Count)).Order()];
        int mid = steady.Length / 2;
        return steady.Length % 2 == 1 ? steady[mid] : (steady[mid - 1] + steady[mid]) / 2;
    }

    /// <summary>Trains <paramref name="model"/> with a <see cref="Trainer"/> and records what the tables need.</summary>
    public static TrainingMeasurement Train(
        ITrainingModel model, TrainingOptions options, IReadOnlyList<PackedSequence> train, IReadOnlyList<PackedSequence> validation)
    {
        ArgumentNullException.ThrowIfNull(options);
        var trainCurve = new List<CurvePoint>();
        var evalCurve = new List<CurvePoint>();
        var rates = new List<double>();
        using var trainer = new Trainer(model, options, train, validation);
        trainer.StepCompleted += (_, s) =>
        {
            trainCurve.Add(new CurvePoint(s.Step, s.Loss));
            rates.Add(s.TokensPerSecond);
        };
        trainer.EvalCompleted += (_, e) => evalCurve.Add(new CurvePoint(e.Step, e.Loss));
        TrainingResult result = trainer.Run();
        if (result.SkippedSteps > 0)
        {
            throw new InvalidOperationException($"{result.SkippedSteps} steps were skipped for non-finite values.");
        }

        return new TrainingMeasurement(trainer.TrainableParameterCount, SteadyTokensPerSecond(rates), trainCurve, evalCurve);
    }
}

/// <summary>The mean token loss of a model over rows, every row exactly once.</summary>
public static class EvaluationLoss
{
    /// <summary>Σ loss and token count over <paramref name="rows"/>, in batches of at most <paramref name="batchSize"/>.</summary>
    public static LossResult Of(ITrainingModel model, IReadOnlyList<PackedSequence> rows, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        LossResult total = default;
        for (int i = 0; i < rows.Count; i += batchSize)
        {
            PackedSequence[] chunk = [.. rows.Skip(i).Take(batchSize)];
            total += model.Evaluate(TokenBatch.FromRows(chunk));
        }

        return total;
    }
}
