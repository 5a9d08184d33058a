using System.Diagnostics;
using System.Globalization;
using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Tasks;
using MoR.Tokenization;
using MoR.Training;

namespace MoR.Experiments;

/// <summary>
/// The synthetic multi-task comparison: one base model pretrained (full fine-tuning) on two short skills of the
/// suite, then every method fine-tuned from that same base on a mixture of three held-out tasks built on those
/// skills plus the pretraining tasks (replayed so that fine-tuning adds skills instead of overwriting them, as
/// in the quickstart), with the same data order for a given seed, and scored on the held-out tasks' test split
/// (exact match by greedy decoding, mean token loss).
/// </summary>
public sealed class SuiteRunner
{
    /// <summary>The names of <see cref="FinetuneTaskSet"/>, the tasks that are scored.</summary>
    public static readonly string[] FinetuneTasks = ["upper", "caesar", "chain"];

    /// <summary>The base's skills (the quickstart's): copying 2–5 letters, adding and subtracting numbers below 10.</summary>
    public static ISyntheticTask[] PretrainTaskSet() => [new CopyTask(2, 5), new ArithmeticTask(10)];

    /// <summary>Held out of pretraining, short enough for a d=64 base: upper-casing and shifting 2–5 letters, two-step chains.</summary>
    public static ISyntheticTask[] FinetuneTaskSet() => [new UppercaseTask(2, 5), new CaesarShiftTask(2, 5), new ReasoningChainTask(2, 2)];

    private readonly Device _device;
    private readonly ExperimentScale _scale;
    private readonly Action<string> _log;
    private readonly ByteTokenizer _tokenizer = ByteTokenizer.Instance;
    private readonly List<PackedSequence> _train;
    private readonly List<PackedSequence> _validation;
    private readonly Dictionary<string, List<TaskSample>> _test;
    private readonly Dictionary<string, List<PackedSequence>> _testRows;

    /// <summary>Prepares the data (deterministic) for <paramref name="scale"/>.</summary>
    public SuiteRunner(Device device, ExperimentScale scale, string baseDirectory, Action<string> log)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _scale = scale ?? throw new ArgumentNullException(nameof(scale));
        _log = log ?? throw new ArgumentNullException(nameof(log));
        BaseDirectory = baseDirectory;
        ISyntheticTask[] tasks = FinetuneTaskSet();
        ISyntheticTask[] mixture = [.. tasks, .. PretrainTaskSet()];
        _train = Rows(TaskSuite.Mixture(mixture, TaskSplit.Train, scale.ExamplesPerTask, seed: 99));
        _validation = Rows(TaskSuite.Mixture(mixture, TaskSplit.Validation, scale.ValidationPerTask, seed: 99));
        _test = tasks.ToDictionary(t => t.Name, t => TaskSuite.Generate(t, TaskSplit.Test, scale.TestPerTask, seed: 1234));
        _testRows = _test.ToDictionary(kv => kv.Key, kv => Rows(kv.Value));
    }

    /// <summary>The base model folder (pretrained by <see cref="EnsureBase"/> when missing).</summary>
    public string BaseDirectory { get; }

    /// <summary>The base model's architecture.</summary>
    public LlamaConfig BaseConfig() => new()
    {
        HiddenSize = _scale.Hidden,
        IntermediateSize = _scale.Ffn,
        NumHiddenLayers = _scale.Layers,
        NumAttentionHeads = _scale.Heads,
        NumKeyValueHeads = _scale.Heads,
        VocabSize = _tokenizer.VocabSize,
        MaxPositionEmbeddings = 256,
        RmsNormEps = 1e-5,
        BosTokenId = ByteTokenizer.Bos,
        EosTokenIds = [ByteTokenizer.Eos],
        PadTokenId = ByteTokenizer.Pad,
    };

    /// <summary>(in, out) of every adapted projection, in model order.</summary>
    public IReadOnlyList<(int In, int Out)> TargetShapes() =>
        [.. Enumerable.Range(0, _scale.Layers).SelectMany(_ => _scale.TargetModules.Select(ShapeOf))];

    // Attention projections are d → d (as many KV heads as heads), the FFN d → ffn → d.
    private (int In, int Out) ShapeOf(string module) => module switch
    {
        "q_proj" or "k_proj" or "v_proj" or "o_proj" => (_scale.Hidden, _scale.Hidden),
        "gate_proj" or "up_proj" => (_scale.Hidden, _scale.Ffn),
        "down_proj" => (_scale.Ffn, _scale.Hidden),
        _ => throw new ArgumentException($"No shape known for target module {module}.", nameof(module)),
    };

    /// <summary>Training rows of the mixture.</summary>
    public int TrainRowCount => _train.Count;

    /// <summary>Pretrains the base model on <see cref="PretrainTaskSet"/> unless <see cref="BaseDirectory"/> holds one.</summary>
    /// <returns>Seconds spent (0 when cached).</returns>
    public double EnsureBase()
    {
        if (File.Exists(Path.Combine(BaseDirectory, "model.safetensors")))
        {
            _log($"using the cached base model {BaseDirectory}");
            return 0;
        }

        var clock = Stopwatch.StartNew();
        ISyntheticTask[] tasks = PretrainTaskSet();
        _log($"pretraining the base model ({_scale.PretrainSteps} steps on {string.Join(", ", tasks.Select(t => t.Name))}) ...");
        List<PackedSequence> rows = Rows(TaskSuite.Mixture(tasks, TaskSplit.Train, _scale.ExamplesPerTask, seed: 42));
        var options = new TrainingOptions
        {
            Adapter = null,
            LearningRate = 3e-3f,
            WarmupSteps = Math.Min(30, _scale.PretrainSteps / 10),
            MaxSteps = _scale.PretrainSteps,
            MicroBatchSize = _scale.MicroBatch,
            SequenceLength = _scale.SeqLen,
            WeightDecay = 0.01f,
            Seed = 42,
        };
        using LlamaModel model = LlamaModel.CreateRandom(BaseConfig(), _device, seed: 42, trainable: true);
        using (var trainer = new Trainer(new LlamaTrainingModel(model), options, rows))
        {
            TrainingResult result = trainer.Run();
            _log($"pretrained {result.Step} steps in {result.Elapsed.TotalSeconds:F0} s, final loss {result.LastLoss:F3}");
        }

        ModelFolderWriter.SaveReplacing(model, BaseDirectory, DType.F32, ByteTokenizer.Save);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Exact match per task of the base model itself (no fine-tuning).</summary>
    public (Dictionary<string, double> Accuracy, Dictionary<string, double> Loss) ScoreBase()
    {
        using LlamaModel model = LlamaModel.Load(BaseDirectory, _device);
        var tm = new LlamaTrainingModel(model);
        return (_test.ToDictionary(kv => kv.Key, kv => GreedyAnswerer.Accuracy(model, _tokenizer, kv.Value)),
                _testRows.ToDictionary(kv => kv.Key, kv => EvaluationLoss.Of(tm, kv.Value, _scale.MicroBatch).Mean));
    }

    /// <summary>Trains <paramref name="spec"/> from the base with <paramref name="seed"/> and scores it.</summary>
    public RunResult Run(string group, MethodSpec spec, ulong seed, bool collectGates)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var clock = Stopwatch.StartNew();
        bool full = spec.FullFineTuning;
        _device.ReleaseCachedMemory();
        _device.ResetPeakBytes();
        using LlamaModel model = LlamaModel.Load(BaseDirectory, _device, new ModelLoadOptions { Trainable = full });
        AdapterConfig? adapter = spec.Adapter(_scale.TargetModules, spec.Router == RouterMode.BalanceLoss ? _scale.RouterBalanceLoss : 0f);
        if (adapter is RoutedAdapterConfig routed && spec.Router == RouterMode.MeanPooling)
        {
            adapter = routed with { RouterInit = RouterInit.Zeros };
        }

        if (adapter is not null)
        {
            AdapterInjector.Attach(model, adapter, 1000 * seed);
        }

        ITrainingModel tm = new LlamaTrainingModel(model);
        if (spec.Router == RouterMode.MeanPooling)
        {
            tm = new FrozenRouterModel(tm);
        }

        var options = new TrainingOptions
        {
            Adapter = adapter,
            LearningRate = full ? _scale.FullLearningRate : _scale.AdapterLearningRate,
            WarmupSteps = Math.Min(20, _scale.FinetuneSteps / 10),
            MaxSteps = _scale.FinetuneSteps,
            MicroBatchSize = _scale.MicroBatch,
            SequenceLength = _scale.SeqLen,
            EvalEvery = Math.Max(1, _scale.FinetuneSteps / 5),
            Seed = seed,
        };
        TrainingMeasurement m = TrainingMeasurement.Train(tm, options, _train, _validation);
        long peak = _device.AllocatorStats.PeakBytes;
        var loss = _testRows.ToDictionary(kv => kv.Key, kv => EvaluationLoss.Of(tm, kv.Value, _scale.MicroBatch));
        var accuracy = _test.ToDictionary(kv => kv.Key, kv => GreedyAnswerer.Accuracy(model, _tokenizer, kv.Value));
        (double[][] Mean, double Balance)? gates = collectGates && spec.Method == MoRMethod.Instance.Name ? MeanGates(model) : null;
        LossResult total = loss.Values.Aggregate(default(LossResult), (a, b) => a + b);
        return new RunResult
        {
            Group = group,
            Spec = spec,
            Seed = seed,
            TrainableParameters = m.TrainableParameters,
            TaskAccuracy = accuracy,
            TaskLoss = loss.ToDictionary(kv => kv.Key, kv => kv.Value.Mean),
            TestLoss = total.Mean,
            TokensPerSecond = m.TokensPerSecond,
            PeakBytes = peak,
            TrainCurve = m.TrainCurve,
            EvalCurve = m.EvalCurve,
            MeanGates = gates?.Mean,
            GateBalance = gates?.Balance ?? double.NaN,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    // Mean gate per (task, expert): over the tokens of prompt + answer of a few test problems, then over MoR layers.
    // Balance: N·Σ_i P_i² per MoR layer, P_i = its mean gate over every token of those problems, then the mean over layers.
    private (double[][] Mean, double Balance) MeanGates(LlamaModel model)
    {
        MoRAdapter[] layers = [.. model.Linears.Values.Select(l => l.Adapter).OfType<MoRAdapter>()];
        int n = layers.Length == 0 ? _scale.Experts : layers[0].Config.Experts;
        double[][] usage = [.. layers.Select(_ => new double[n])];
        long tokens = 0;
        var result = new double[FinetuneTasks.Length][];
        for (int ti = 0; ti < FinetuneTasks.Length; ti++)
        {
            double[] sum = new double[n];
            int count = 0;
            foreach (TaskSample sample in _test[FinetuneTasks[ti]].Take(_scale.GatePromptsPerTask))
            {
                int[] ids = _tokenizer.Encode(sample.Prompt + sample.Answer, addBos: true);
                model.ComputeLogits(1, ids.Length, ids);
                tokens += ids.Length;
                for (int l = 0; l < layers.Length; l++)
                {
                    float[] g = layers[l].LastGates();
                    for (int t = 0; t < ids.Length; t++)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            sum[i] += g[(t * n) + i] / ids.Length;
                            usage[l][i] += g[(t * n) + i];
                        }
                    }

                    count++;
                }
            }

            result[ti] = [.. sum.Select(s => count == 0 ? double.NaN : s / count)];
        }

        double balance = layers.Length == 0 || tokens == 0 ? double.NaN : usage.Average(u => n * u.Sum(s => (s / tokens) * (s / tokens)));
        return (result, balance);
    }

    private List<PackedSequence> Rows(List<TaskSample> samples)
    {
        var encoder = new ExampleEncoder(_tokenizer, chat: null, maskPrompt: true);
        return SequencePacker.Pack(samples.Select(s => encoder.EncodePromptCompletion(s.Prompt, s.Answer)), _scale.SeqLen, ByteTokenizer.Pad, pack: true, out _);
    }
}
