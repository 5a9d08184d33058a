using MoR.Adapters;
using MoR.Data;
using MoR.Interop;
using MoR.IO;
using MoR.Model;
using MoR.Training;

namespace MoR.Benchmarks;

/// <summary>
/// Times whole optimizer steps — forward, backward, gradient clipping and AdamW, through the real
/// <see cref="Trainer"/> — for one training method on one model, and breaks one extra step down by op.
/// What <c>mor bench train</c> and the TorchSharp comparison in <c>bench/</c> run.
/// </summary>
public static class TrainBenchmark
{
    /// <summary>Rows of uniformly random tokens, every position a target: the step's cost does not depend on the data.</summary>
    public static IReadOnlyList<PackedSequence> RandomRows(int vocab, int rows, int seqLen, ulong seed)
    {
        var rng = new Numerics.SeededRandom(seed);
        var list = new List<PackedSequence>(rows);
        for (int r = 0; r < rows; r++)
        {
            int[] tokens = new int[seqLen + 1];
            for (int i = 0; i < tokens.Length; i++)
            {
                tokens[i] = rng.NextInt(vocab);
            }

            list.Add(new PackedSequence(tokens[..seqLen], tokens[1..]));
        }

        return list;
    }

    /// <summary>
    /// The first <paramref name="rows"/> lines of a <c>mor eval</c>-style JSONL file (<c>{"input_ids": [...], "labels": [...]}</c>,
    /// Hugging Face convention: labels aligned with input_ids, shifted here), each exactly <paramref name="seqLen"/>
    /// tokens: the batch a peer (PyTorch, TorchSharp) computes its loss on, so the two losses can be compared.
    /// </summary>
    /// <exception cref="FormatException">A line is malformed, has another length, or the file has too few lines.</exception>
    public static IReadOnlyList<PackedSequence> ReadRows(string path, int vocab, int rows, int seqLen)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var list = new List<PackedSequence>(rows);
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (list.Count == rows)
            {
                break;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            (int[] ids, int[] labels) = Evaluator.Parse(line, tokenizer: null, vocab, path, number);
            if (ids.Length != seqLen)
            {
                throw new FormatException($"{path} line {number}: {ids.Length} tokens, but the sequence length is {seqLen}");
            }

            list.Add(new PackedSequence(ids, Evaluator.ShiftedTargets(labels)));
        }

        return list.Count == rows ? list : throw new FormatException($"{path}: {list.Count} rows, but the batch needs {rows}");
    }

    /// <summary>
    /// Attaches <paramref name="options"/>' adapters to <paramref name="model"/> (unless full fine-tuning) and
    /// times its steps on <paramref name="rows"/> (random tokens when null), every step on the same batch.
    /// </summary>
    /// <param name="model">A frozen model for adapter methods, a trainable one (<see cref="ModelLoadOptions.Trainable"/>) for full fine-tuning.</param>
    /// <param name="modelName">The folder or preset, for the report.</param>
    /// <param name="options">Method, shape and step counts.</param>
    /// <param name="rows">Exactly <see cref="TrainBenchmarkOptions.Batch"/> rows of <see cref="TrainBenchmarkOptions.SeqLen"/> tokens, or null.</param>
    /// <param name="onStep">Called after every step (warm-up included) with its index and loss.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the model does not fit the method.</exception>
    public static TrainBenchmarkResult Run(
        LlamaModel model, string modelName, TrainBenchmarkOptions options, IReadOnlyList<PackedSequence>? rows = null,
        Action<int, double>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        bool full = options.FullFineTuning;
        if (full != model.FullFineTuning)
        {
            throw new ArgumentException(full
                ? "full fine-tuning needs a model loaded trainable (ModelLoadOptions.Trainable)"
                : $"{options.Method} trains adapters on a frozen model, but this one was loaded trainable");
        }

        rows ??= RandomRows(model.Config.VocabSize, options.Batch, options.SeqLen, options.Seed);
        if (rows.Count != options.Batch || rows.Any(r => r.InputIds.Length != options.SeqLen))
        {
            throw new ArgumentException($"expected {options.Batch} rows of {options.SeqLen} tokens");
        }

        Device device = model.Device;
        BenchmarkEnvironment environment = BenchmarkEnvironment.Capture(device);
        int profiled = options.Breakdown ? 1 : 0;
        TrainingOptions trainingOptions = Prepare(model, options) with { MaxSteps = options.Warmup + options.Steps + profiled };

        double inputPerTarget = InputPerTarget(rows);
        var losses = new List<double>();
        var stepMs = new List<double>();
        long allocationsBefore = 0, allocationsAfter = 0;
        NativeCallTimer? timer = null;
        device.ResetPeakBytes();
        var trainingModel = new LlamaTrainingModel(model);
        using (var trainer = new Trainer(trainingModel, trainingOptions, [.. rows]))
        {
            trainer.StepCompleted += (_, m) =>
            {
                losses.Add(m.Loss);
                onStep?.Invoke(m.Step, m.Loss);
                bool timed = m.Step > options.Warmup && m.Step <= options.Warmup + options.Steps;
                if (timed)
                {
                    stepMs.Add(1000.0 * m.Tokens / Math.Max(m.TokensPerSecond, 1e-12) * inputPerTarget);
                }

                if (m.Step == options.Warmup)
                {
                    allocationsBefore = device.AllocatorStats.SystemAllocations;
                }

                if (m.Step == options.Warmup + options.Steps)
                {
                    allocationsAfter = device.AllocatorStats.SystemAllocations;
                    if (options.Breakdown)
                    {
                        timer = NativeCallTimer.IsEnabled ? new NativeCallTimer(device.Kind == DeviceKind.Cpu ? null : device.Synchronize).Start() : null;
                    }
                }
            };
            try
            {
                trainer.Run();
            }
            finally
            {
                timer?.Dispose();
            }
        }

        TimingSummary step = TimingSummary.FromSamples([.. stepMs]);
        long tokens = (long)options.Batch * options.SeqLen;
        double flops = StepFlops(model.Config, options.Batch, options.SeqLen, full);
        (IReadOnlyList<OpTime> categories, IReadOnlyList<OpTime> functions) = Summarise(timer);
        return new TrainBenchmarkResult(
            "mornative", options.Method, modelName, ParameterCount(model.Config),
            trainingModel.TrainableParameters().Sum(p => p.Numel), FrozenDTypeOf(model), options.Batch, options.SeqLen, step,
            tokens / (step.MedianMs / 1000.0), flops / (step.MedianMs / 1000.0) / 1e12, device.AllocatorStats.PeakBytes,
            ProcessMemory.PeakResidentBytes(), losses, categories, functions, allocationsAfter - allocationsBefore, environment);
    }

    /// <summary>
    /// Attaches <paramref name="options"/>' adapters (unless full fine-tuning) and returns the trainer settings a
    /// benchmark step uses: constant learning rate, one micro-batch of the given shape, α = 2r, clipping at 1.
    /// </summary>
    public static TrainingOptions Prepare(LlamaModel model, TrainBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Adapter is { } adapter)
        {
            AdapterInjector.Attach(model, adapter, options.Seed);
        }

        return new TrainingOptions
        {
            Adapter = options.Adapter,
            LearningRate = options.LearningRate,
            MinLearningRateRatio = 1f,
            MaxSteps = int.MaxValue,
            MicroBatchSize = options.Batch,
            SequenceLength = options.SeqLen,
            Seed = options.Seed,
        };
    }

    /// <summary>Parameters of the base model (every tensor of its checkpoint).</summary>
    public static long ParameterCount(LlamaConfig config) =>
        config.ExpectedTensors().Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>
    /// FLOPs a step must do: 2 per weight per token forward, 2 for the input gradients, 2 more for weight gradients
    /// under full fine-tuning (the embedding is a lookup, the LM head a matmul), plus causal attention
    /// (QKᵀ and PV, half the square: 2·T²·H·D per row and layer forward, twice that backward). Adapters' own
    /// FLOPs are left out: the ratio to the hardware peak is then the model FLOPs utilisation.
    /// </summary>
    public static double StepFlops(LlamaConfig config, int batch, int seqLen, bool full)
    {
        double d = config.HiddenSize, q = (double)config.NumAttentionHeads * config.HeadDim, kv = (double)config.NumKeyValueHeads * config.HeadDim;
        double perLayer = (d * q) + (2 * d * kv) + (q * d) + (3 * d * config.IntermediateSize);
        double matmulWeights = (config.NumHiddenLayers * perLayer) + ((double)config.VocabSize * d);
        double tokens = (double)batch * seqLen;
        double linear = (full ? 6 : 4) * matmulWeights * tokens;
        double attentionForward = 2.0 * batch * seqLen * (double)seqLen * q * config.NumHiddenLayers;
        return linear + (3 * attentionForward);
    }

    // StepMetrics.Tokens counts targets; the step time is input tokens over the tokens/s it reports.
    private static double InputPerTarget(IReadOnlyList<PackedSequence> rows)
    {
        long inputs = rows.Sum(r => (long)r.InputIds.Length);
        long targets = rows.Sum(r => (long)r.TargetCount);
        return (double)inputs / Math.Max(1, targets);
    }

    private static string FrozenDTypeOf(LlamaModel model) =>
        model.FullFineTuning ? "F32" : model.Linears.Values.First().Base.Weight.DType.ToString().ToUpperInvariant();

    private static (IReadOnlyList<OpTime> Categories, IReadOnlyList<OpTime> Functions) Summarise(NativeCallTimer? timer)
    {
        if (timer is null)
        {
            return ([], []);
        }

        double total = timer.Totals.Values.Sum(t => t.Seconds);
        OpTime Make(string name, double seconds, long calls) => new(name, seconds * 1000, total > 0 ? seconds / total : 0, calls);
        var categories = timer.Totals
            .GroupBy(kv => OpCategory.Of(kv.Key))
            .Select(g => Make(g.Key, g.Sum(kv => kv.Value.Seconds), g.Sum(kv => kv.Value.Calls)))
            .OrderBy(o => IndexOf(OpCategory.Ordered, o.Name))
            .ToList();
        var functions = timer.Totals
            .OrderByDescending(kv => kv.Value.Seconds)
            .Take(12)
            .Select(kv => Make(kv.Key, kv.Value.Seconds, kv.Value.Calls))
            .ToList();
        return (categories, functions);
    }

    private static int IndexOf(IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == item)
            {
                return i;
            }
        }

        return list.Count;
    }
}
