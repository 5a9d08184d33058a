using System.Diagnostics;
using MoR.Adapters;
using MoR.Data;
using MoR.Distributed;
using MoR.Model;
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
/// <para>
/// Data parallel (a <see cref="Communicator"/> with K ranks, docs/SCALING.md): every rank draws the whole
/// step's K·G micro-batches in the single-rank order (so the data cursor, and hence every checkpoint, is
/// in global rows) and trains on its <see cref="DataShard"/> of them; gradients are scaled by K / (target
/// tokens of the whole step) and averaged over the ranks before clipping, which makes K ranks × micro-batch
/// b take the same steps as one rank × micro-batch K·b. Only rank 0 evaluates and writes checkpoints.
/// </para>
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
    private readonly Communicator? _comm;
    private readonly DataShard _shard;
    private bool _synchronized;
    private bool _stopAgreed;

    /// <summary>A trainer at step 0.</summary>
    /// <param name="model">The model; its trainable parameters are fixed from here on.</param>
    /// <param name="options">The run's settings (validated here).</param>
    /// <param name="train">Packed training rows.</param>
    /// <param name="validation">Packed validation rows, or null.</param>
    /// <param name="checkpointDirectory">Where checkpoints go, or null for none.</param>
    /// <param name="communicator">The data-parallel ranks (not owned), or null for one rank.</param>
    public Trainer(
        ITrainingModel model, TrainingOptions options, IReadOnlyList<PackedSequence> train,
        IReadOnlyList<PackedSequence>? validation = null, string? checkpointDirectory = null, Communicator? communicator = null)
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
        _comm = communicator is { IsDistributed: true } ? communicator : null;
        _shard = communicator is null ? new DataShard(0, 1) : DataShard.For(communicator);
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

    /// <summary>Test seam: runs in <see cref="SaveCheckpoint"/> after the temporary folder is complete and before the rename.</summary>
    internal Action<string>? BeforeCheckpointRename { get; set; }

    /// <summary>The optimizer (its moments are part of a checkpoint).</summary>
    public AdamW Optimizer => _optimizer;

    /// <summary>Data-parallel ranks (1 without a distributed communicator); a step trains on Ranks × micro-batches × accumulation rows.</summary>
    public int Ranks => _shard.Size;

    /// <summary>Whether this process writes checkpoints and evaluates (rank 0, or the only rank).</summary>
    public bool IsRoot => _shard.Rank == 0;

    /// <summary>Continues from a checkpoint folder (or the newest readable one under a root): parameters, moments, step and data cursor.</summary>
    /// <returns>The checkpoint folder used.</returns>
    public string Resume(string path) => Resume(path, out _);

    /// <summary>
    /// Continues from a checkpoint folder, or from the newest <em>readable</em> checkpoint under a root: one whose
    /// files are missing or corrupt is passed over (and listed in <paramref name="skipped"/>) for the next older one.
    /// A checkpoint of another model (other parameters) or of other data stops the resume instead: an older one
    /// would not fit either.
    /// </summary>
    /// <param name="path">A checkpoint folder, an output folder or its <c>checkpoints</c> subfolder.</param>
    /// <param name="skipped">The newer checkpoints passed over, newest first, with the reason.</param>
    /// <returns>The checkpoint folder used.</returns>
    /// <exception cref="TrainingCheckpointException">No checkpoint there can be read; the message gives each one's reason.</exception>
    /// <exception cref="InvalidDataException">The checkpoint was written for other parameters or other data.</exception>
    public string Resume(string path, out IReadOnlyList<SkippedCheckpoint> skipped)
    {
        IReadOnlyList<string> candidates = TrainingCheckpoint.Candidates(path);
        var passed = new List<SkippedCheckpoint>();
        foreach (string directory in candidates)
        {
            TrainerState state;
            try
            {
                state = TrainingCheckpoint.Load(directory, _optimizer);
            }
            catch (IOException e) when (candidates.Count > 1)
            {
                passed.Add(new SkippedCheckpoint(directory, (e is TrainingCheckpointException t ? t.Detail : e.Message).ReplaceLineEndings(" ")));
                continue;
            }

            if (state.Data.Position > _train.RowCount)
            {
                throw new InvalidDataException(
                    $"Checkpoint '{directory}' stopped at row {state.Data.Position} of an epoch, but this data packs into {_train.RowCount} rows: was the data or --seq-len changed?");
            }

            Step = state.Step;
            SkippedSteps = state.SkippedSteps;
            _train.Cursor = state.Data;
            _synchronized = false;
            NotifyParametersChanged();
            LastCheckpoint = directory;
            skipped = passed;
            return directory;
        }

        throw TrainingCheckpointException.NoneReadable(path, passed);
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
        if (_comm is not null && !_synchronized)
        {
            // Identical start on every rank whatever each one initialised or loaded: rank 0's values win.
            _comm.Broadcast(_parameters);
            NotifyParametersChanged();
            _synchronized = true;
        }

        _stopAgreed = false;
        while (Step < Options.MaxSteps && !(_comm is null ? cancellation.IsCancellationRequested : _stopAgreed))
        {
            long stepStart = Stopwatch.GetTimestamp();
            (double loss, double gradNorm, long tokens, long inputTokens, bool skipped, float lr, double balance) = TrainStep(cancellation);
            lastLoss = loss;
            double seconds = Stopwatch.GetElapsedTime(stepStart).TotalSeconds;
            double perStep = clock.Elapsed.TotalSeconds / (Step - firstStep);
            StepCompleted?.Invoke(this, new StepMetrics(
                Step, Options.MaxSteps, loss, lr, gradNorm, tokens, inputTokens / Math.Max(seconds, 1e-9), clock.Elapsed,
                TimeSpan.FromSeconds(perStep * (Options.MaxSteps - Step)), skipped, SkippedSteps, balance));
            TestPausePoints.At("step.logged", Step);

            bool last = Step == Options.MaxSteps;
            if (_validation is not null && IsRoot && ((Options.EvalEvery > 0 && Step % Options.EvalEvery == 0) || last))
            {
                lastEval = Evaluate();
                TestPausePoints.At("eval.done", Step);
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

        TestPausePoints.At("run.finished", Step);
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

        LossResult total = default;
        for (int i = 0; i < batches; i++)
        {
            total += _model.Evaluate(loader.Next());
        }

        var metrics = new EvalMetrics(Step, total.Mean, total.Tokens);
        EvalCompleted?.Invoke(this, metrics);
        return metrics;
    }

    /// <summary>
    /// Writes a checkpoint now (atomically) and returns its folder. With several ranks it is collective: rank 0
    /// writes, and every rank returns only after the checkpoint is complete.
    /// </summary>
    public string SaveCheckpoint()
    {
        if (_checkpointDirectory is null)
        {
            throw new InvalidOperationException("This trainer was created without a checkpoint directory.");
        }

        if (!IsRoot)
        {
            _comm!.Barrier(); // rank 0 is writing; nobody runs ahead of (or resumes from) a half-written checkpoint
            LastCheckpoint = Path.Combine(_checkpointDirectory, TrainingCheckpoint.Prefix + Step.ToString("D8", System.Globalization.CultureInfo.InvariantCulture));
            return LastCheckpoint;
        }

        var state = new TrainerState(
            TrainerState.CurrentFormatVersion, Step, _optimizer.StepCount, SkippedSteps, _train.Cursor,
            [.. _parameters.Select(p => p.Name)], [.. _parameters.Select(p => p.Value.Shape.ToArray())], Options);
        LastCheckpoint = TrainingCheckpoint.Save(_checkpointDirectory, state, _optimizer, keep: 2, BeforeCheckpointRename);
        _comm?.Barrier();
        CheckpointSaved?.Invoke(this, LastCheckpoint);
        return LastCheckpoint;
    }

    /// <inheritdoc/>
    public void Dispose() => _optimizer.Dispose();

    private (double Loss, double GradNorm, long Tokens, long InputTokens, bool Skipped, float Lr, double Balance) TrainStep(CancellationToken cancellation)
    {
        int step = Step + 1;
        TestPausePoints.At("step.begin", step);
        // All micro-batches are drawn first so that the gradient scale is 1 / (target tokens of the whole
        // step): the accumulated gradient is then exactly that of the mean loss, whatever the padding.
        // With K ranks every rank draws all K·G of them (the cursor stays global) and keeps its shard.
        var batches = new TokenBatch[Options.GradientAccumulation * Ranks];
        long targets = 0, inputs = 0;
        for (int i = 0; i < batches.Length; i++)
        {
            batches[i] = _train.Next();
            targets += batches[i].TargetCount;
            inputs += batches[i].InputIds.Length;
        }

        float lr = _schedule.At(step);
        LossResult loss = default;
        // K / T: the all-reduce averages over the K ranks, so the result is Σ over the step's T target tokens / T,
        // the single-rank mean exactly (even when the shards hold different numbers of target tokens).
        float gradScale = (float)Ranks / Math.Max(1, targets);
        // The router balance term is a mean over the step's M micro-batches, not a token sum: weight α·K/M on each,
        // which the K-rank gradient average turns into α·(1/M)·Σ_m B̄_m, the single-rank value exactly; each of the L
        // routed layers takes 1/L of it, so the term is that times the mean over layers.
        int routedLayers = _model.Adapters.Count(a => a is IRoutedAdapter);
        float balanceWeight = routedLayers == 0 ? 0f : Options.RouterBalanceLoss * Ranks / batches.Length / routedLayers;
        for (int i = 0; i < batches.Length; i++)
        {
            if (_shard.Owns(i))
            {
                // Adapter dropout: a key from (seed, step, global micro-batch index) only, so a resumed run and
                // any rank count draw the same masks for the same rows.
                var pass = new AdapterPass(AdapterDropout.Key(Options.Seed, (ulong)step, (ulong)i), balanceWeight);
                loss += _model.ForwardBackward(batches[i], gradScale, pass);
            }
        }

        TestPausePoints.At("step.backward-done", step);

        if (_comm is not null)
        {
            _comm.AllReduceGradients(_parameters);
            loss = AgreeOnLoss(loss, targets, cancellation);
        }

        double norm = GradientNorm.Compute(_parameters);
        double meanLoss = loss.Tokens == 0 ? 0 : loss.Mean;
        double balance = Options.RouterBalanceLoss * loss.RouterBalanceSum / batches.Length;
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
            return (meanLoss, norm, loss.Tokens, inputs, true, lr, balance);
        }

        _optimizer.Step(lr, GradientNorm.ClipFactor(norm, Options.MaxGradNorm));
        ZeroGrads();
        NotifyParametersChanged();
        Step = step;
        TestPausePoints.At("step.applied", step);
        return (meanLoss, norm, loss.Tokens, inputs, false, lr, balance);
    }

    // One small all-reduce per step: the step's summed loss (in F32, so the logged loss is good to ~1e-7), a stop
    // vote and the summed router balance values. Every rank then logs the global values and takes the same skip /
    // stop decisions.
    private LossResult AgreeOnLoss(LossResult local, long targets, CancellationToken cancellation)
    {
        using Tensor stats = Tensor.FromSpan<float>(
            _model.Device, [(float)local.LossSum, cancellation.IsCancellationRequested ? 1f : 0f, (float)local.RouterBalanceSum], 3);
        _comm!.AllReduceSum(stats);
        float[] sum = stats.ToArray<float>();
        _stopAgreed = sum[1] > 0;
        return new LossResult(sum[0], targets, sum[2]);
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
