using MoR.Data;
using MoR.Training;

namespace MoR.Experiments;

/// <summary>One training run with its curves and throughput.</summary>
/// <param name="TrainableParameters">Trainable values.</param>
/// <param name="TokensPerSecond">Input tokens per second over the training steps only (evaluation excluded).</param>
/// <param name="TrainCurve">Loss per step.</param>
/// <param name="EvalCurve">Validation loss at each evaluation.</param>
public sealed record TrainingMeasurement(long TrainableParameters, double TokensPerSecond, IReadOnlyList<CurvePoint> TrainCurve, IReadOnlyList<CurvePoint> EvalCurve)
{
    /// <summary>Trains <paramref name="model"/> with a <see cref="Trainer"/> and records what the tables need.</summary>
    public static TrainingMeasurement Train(
        ITrainingModel model, TrainingOptions options, IReadOnlyList<PackedSequence> train, IReadOnlyList<PackedSequence> validation, long inputTokensPerStep)
    {
        ArgumentNullException.ThrowIfNull(options);
        var trainCurve = new List<CurvePoint>();
        var evalCurve = new List<CurvePoint>();
        double stepSeconds = 0;
        using var trainer = new Trainer(model, options, train, validation);
        trainer.StepCompleted += (_, s) =>
        {
            trainCurve.Add(new CurvePoint(s.Step, s.Loss));
            stepSeconds += inputTokensPerStep / Math.Max(s.TokensPerSecond, 1e-9);
        };
        trainer.EvalCompleted += (_, e) => evalCurve.Add(new CurvePoint(e.Step, e.Loss));
        TrainingResult result = trainer.Run();
        if (result.SkippedSteps > 0)
        {
            throw new InvalidOperationException($"{result.SkippedSteps} steps were skipped for non-finite values.");
        }

        return new TrainingMeasurement(trainer.TrainableParameterCount, inputTokensPerStep * (double)result.Step / Math.Max(stepSeconds, 1e-9), trainCurve, evalCurve);
    }
}

/// <summary>The mean token loss of a model over rows, every row exactly once.</summary>
public static class EvaluationLoss
{
    /// <summary>Σ loss and token count over <paramref name="rows"/>, in batches of at most <paramref name="batchSize"/>.</summary>
    public static TrainingLoss Of(ITrainingModel model, IReadOnlyList<PackedSequence> rows, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        TrainingLoss total = default;
        for (int i = 0; i < rows.Count; i += batchSize)
        {
            PackedSequence[] chunk = [.. rows.Skip(i).Take(batchSize)];
            total += model.Evaluate(TrainingBatch.FromRows(chunk));
        }

        return total;
    }
}
