using System.Diagnostics;
using MoR.Adapters;
using MoR.Data;
using MoR.Modules;

namespace MoR.Training;

/// <summary>
/// The training loop: gradient accumulation over micro-batches, the exact mean token loss, global-norm
/// clipping, AdamW with a warm-up + cosine schedule, non-finite detection, periodic evaluation and
/// atomic checkpoints with exact resume.
/// </summary>
/// <example>
/// <code>
/// using var trainer = new Trainer(model, options, trainRows, validationRows, checkpointDirectory: "out/checkpoints");
/// trainer.StepCompleted += (_, m) => Console.WriteLine($"step {m.Step} loss {m.Loss:F4}");
/// TrainingResult result = trainer.Run();
/// </code>
/// </example>
/// <remarks>
/// A step is deterministic given the parameters, the optimizer state and the data cursor, so a run of
/// 2k steps equals k steps, a checkpoint, a resume and k more steps bit for bit.
/// </remarks>
public sealed class Trainer : IDisposable
{
    private readonly ITrainingModel _model;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly IReadOnlyList<PackedSequence>? _validation;
    private readonly AdamW _optimizer;
    private readonly CosineSchedule _schedule;
    private readonly BatchLoader _train;
    private readonly string? _checkpointDirectory;

    /// <summary>A trainer at step 0.</summary>
    /// <param name="model">The model; its trainable parameters are fixed from here on.</param>
    /// <param name="options">The run's settings (validated here).</param>
    /// <param name="train">Packed training rows.</param>
    /// <param name="validation">Packed validation rows, or null.</param>
    /// <param name="checkpointDirectory">Where checkpoints go, or null for none.</param>
    public Trainer(
        ITrainingModel model, TrainingOptions options, IReadOnlyList<PackedSequence> train,
        IReadOnlyList<PackedSequence>? validation = null, string? checkpointDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        Options = options;
        _parameters = model.TrainableParameters();
        if (_parameters.Count == 0)
        {
            throw new ArgumentException("The model has no trainable parameters: attach adapters or load it trainable.", nameof(model));
        }

        _validation = validation is { Count: > 0 } ? validation : null;
        _optimizer = new AdamW(_parameters, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        _schedule = CosineSchedule.From(options);
        _train = new BatchLoader(train, options.MicroBatchSize, options.Seed);
        _checkpointDirectory = checkpointDirectory;
    }

    /// <summary>Raised after every step (applied or skipped).</summary>
    public event EventHandler<StepMetrics>? StepCompleted;

    /// <summary>Raised after every validation pass.</summary>
    public event EventHandler<EvalMetrics>? EvalCompleted;

    /// <summary>Raised after a checkpoint is written, with its folder.</summary>
    public event EventHandler<string>? CheckpointSaved;

    /// <summary>The run's settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Completed steps.</summary>
    public int Step { get; private set; }

    /// <summary>Steps skipped for non-finite values.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>The last checkpoint written or loaded.</summary>
    public string? LastCheckpoint { get; private set; }

    /// <summary>The number of trainable values.</summary>
    public long TrainableParameterCount => _parameters.Sum(p => p.Numel);

    /// <summary>The optimizer (its moments are part of a checkpoint).</summary>
    public AdamW Optimizer => _optimizer;

    /// <summary>Continues from a checkpoint folder (or the newest under a root): parameters, moments, step and data cursor.</summary>
    /// <returns>The checkpoint folder used.</returns>
    public string Resume(string path)
    {
        string directory = TrainingCheckpoint.Resolve(path);
        TrainerState state = TrainingCheckpoint.Load(directory, _optimizer);
        Step = state.Step;
        SkippedSteps = state.SkippedSteps;
        _train.Cursor = state.Data;
        NotifyParametersChanged();
        LastCheckpoint = directory;
        return directory;
    }

    /// <summary>
    /// Runs steps until <see cref="TrainingOptions.MaxSteps"/> or until <paramref name="cancellation"/> is
    /// signalled (then the current step finishes and a checkpoint is written, as for Ctrl-C).
    /// </summary>
    /// <exception cref="NonFiniteException">A NaN/Inf loss or gradient without <see cref="TrainingOptions.SkipNonFinite"/>; nothing was applied.</exception>
    public TrainingResult Run(CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        int firstStep = Step;
        double lastLoss = double.NaN;
        EvalMetrics? lastEval = null;
        while (Step < Options.MaxSteps && !cancellation.IsCancellationRequested)
        {
            long stepStart = Stopwatch.GetTimestamp();
            (double loss, double gradNorm, long tokens, long inputTokens, bool skipped, float lr) = TrainStep();
            lastLoss = loss;
            double seconds = Stopwatch.GetElapsedTime(stepStart).TotalSeconds;
            double perStep = clock.Elapsed.TotalSeconds / (Step - firstStep);
            StepCompleted?.Invoke(this, new StepMetrics(
                Step, Options.MaxSteps, loss, lr, gradNorm, tokens, inputTokens / Math.Max(seconds, 1e-9), clock.Elapsed,
                TimeSpan.FromSeconds(perStep * (Options.MaxSteps - Step)), skipped, SkippedSteps));

            bool last = Step == Options.MaxSteps;
            if (_validation is not null && ((Options.EvalEvery > 0 && Step % Options.EvalEvery == 0) || last))
            {
                lastEval = Evaluate();
            }

            if (Options.SaveEvery > 0 && Step % Options.SaveEvery == 0 && !last)
            {
                SaveCheckpoint();
            }
        }

        if (_checkpointDirectory is not null && Step > firstStep)
        {
            SaveCheckpoint();
        }

        return new TrainingResult(Step, Step >= Options.MaxSteps, lastLoss, lastEval, SkippedSteps, LastCheckpoint, clock.Elapsed);
    }

    /// <summary>The mean loss over the validation rows (at most <see cref="TrainingOptions.EvalBatches"/> micro-batches).</summary>
    public EvalMetrics Evaluate()
    {
        if (_validation is null)
        {
            throw new InvalidOperationException("No validation data was given.");
        }

        var loader = new BatchLoader(_validation, Options.MicroBatchSize, seed: 0, shuffle: false);
        int batches = (_validation.Count + Options.MicroBatchSize - 1) / Options.MicroBatchSize;
        if (Options.EvalBatches > 0)
        {
            batches = Math.Min(batches, Options.EvalBatches);
        }

        TrainingLoss total = default;
        for (int i = 0; i < batches; i++)
        {
            total += _model.Evaluate(loader.Next());
        }

        var metrics = new EvalMetrics(Step, total.Mean, total.Tokens);
        EvalCompleted?.Invoke(this, metrics);
        return metrics;
    }

    /// <summary>Writes a checkpoint now (atomically) and returns its folder.</summary>
    public string SaveCheckpoint()
    {
        if (_checkpointDirectory is null)
        {
            throw new InvalidOperationException("This trainer was created without a checkpoint directory.");
        }

        var state = new TrainerState(
            TrainerState.CurrentFormatVersion, Step, _optimizer.StepCount, SkippedSteps, _train.Cursor,
            [.. _parameters.Select(p => p.Name)], [.. _parameters.Select(p => p.Value.Shape.ToArray())], Options);
        LastCheckpoint = TrainingCheckpoint.Save(_checkpointDirectory, state, _optimizer);
        CheckpointSaved?.Invoke(this, LastCheckpoint);
        return LastCheckpoint;
    }

    /// <inheritdoc/>
    public void Dispose() => _optimizer.Dispose();

    private (double Loss, double GradNorm, long Tokens, long InputTokens, bool Skipped, float Lr) TrainStep()
    {
        int step = Step + 1;
        // All micro-batches are drawn first so that the gradient scale is 1 / (target tokens of the whole
        // step): the accumulated gradient is then exactly that of the mean loss, whatever the padding.
        var batches = new TrainingBatch[Options.GradientAccumulation];
        long targets = 0, inputs = 0;
        for (int i = 0; i < batches.Length; i++)
        {
            batches[i] = _train.Next();
            targets += batches[i].TargetCount;
            inputs += batches[i].InputIds.Length;
        }

        float lr = _schedule.At(step);
        TrainingLoss loss = default;
        float gradScale = 1f / Math.Max(1, targets);
        foreach (TrainingBatch batch in batches)
        {
            loss += _model.ForwardBackward(batch, gradScale);
        }

        double norm = GradientNorm.Compute(_parameters);
        double meanLoss = loss.Tokens == 0 ? 0 : loss.Mean;
        string? bad = !double.IsFinite(meanLoss) ? "loss" : !double.IsFinite(norm) ? "gradient norm" : null;
        if (bad is not null)
        {
            ZeroGrads();
            if (!Options.SkipNonFinite)
            {
                throw new NonFiniteException(step, bad, bad == "loss" ? meanLoss : norm, LastCheckpoint);
            }

            SkippedSteps++;
            Step = step;
            return (meanLoss, norm, loss.Tokens, inputs, true, lr);
        }

        _optimizer.Step(lr, GradientNorm.ClipFactor(norm, Options.MaxGradNorm));
        ZeroGrads();
        NotifyParametersChanged();
        Step = step;
        return (meanLoss, norm, loss.Tokens, inputs, false, lr);
    }

    private void ZeroGrads()
    {
        foreach (Parameter p in _parameters)
        {
            p.ZeroGrad();
        }
    }

    // MoR caches Q = ω_B ⊙ B between updates; every adapter is told its parameters moved.
    private void NotifyParametersChanged()
    {
        foreach (ILinearAdapter adapter in _model.Adapters)
        {
            adapter.OnParametersChanged();
        }
    }
}
