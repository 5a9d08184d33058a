using System.Diagnostics;
using MoR.Adapters;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Numerics;
using MoR.Training;

namespace MoR.Experiments;

/// <summary>Which hidden task structure the teacher has.</summary>
public enum TeacherVariant
{
    /// <summary>(i) Every ΔW_t = B_t·U reads the same k-dim input subspace U but writes a different output map B_t.</summary>
    SharedInput,

    /// <summary>(ii) ΔW_t = B_t·U_t with mutually orthogonal U_t, T·k &gt; r: no rank-r row space covers them all.</summary>
    DisjointInput,
}

/// <summary>
/// A controlled teacher–student suite. The teacher is a frozen tiny random LLaMA; task t adds a hidden
/// low-rank ΔW_t (rank k) to every up_proj, and a sequence of task t starts with the task token t followed by
/// uniform tokens. Labels are the teacher's greedy next-token at every position. The student is the teacher
/// without any ΔW, plus one adapter trained on the mixture of all tasks; it is scored by per-task held-out
/// cross-entropy to the teacher's greedy tokens.
/// </summary>
public sealed class TeacherSuite
{
    /// <summary>The one projection that carries ΔW_t (and the students' adapters).</summary>
    public static readonly string[] TargetModules = ["up_proj"];

    private const ulong TeacherSeed = 11;
    private readonly Device _device;
    private readonly TeacherScale _scale;
    private readonly List<PackedSequence> _train = [];
    private readonly List<List<PackedSequence>> _test = [];

    /// <summary>Builds the teacher, draws the hidden ΔW_t and labels the data.</summary>
    public TeacherSuite(Device device, TeacherScale scale, TeacherVariant variant)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _scale = scale ?? throw new ArgumentNullException(nameof(scale));
        Variant = variant;
        if (scale.Tasks * scale.TaskRank > scale.Hidden)
        {
            throw new ArgumentException($"T·k = {scale.Tasks * scale.TaskRank} exceeds the hidden size {scale.Hidden}.", nameof(scale));
        }

        var rng = new SeededRandom(variant == TeacherVariant.SharedInput ? 501UL : 502UL);
        using LlamaModel teacher = LlamaModel.CreateRandom(Config(), device, TeacherSeed, trainable: false);
        AdapterInjector.Attach(teacher, new LoRAConfig { Rank = scale.TaskRank, Alpha = scale.TaskRank, TargetModules = TargetModules });
        LoRAAdapter[] slots = [.. teacher.Linears.Values.Select(l => l.Adapter).OfType<LoRAAdapter>()];

        // Per layer: T·k orthonormal rows; variant (i) uses the first k for every task, (ii) block t for task t.
        float[][] bases = [.. slots.Select(_ => Orthonormal(rng, scale.Tasks * scale.TaskRank, scale.Hidden))];
        var dataRng = new SeededRandom(777);
        long changed = 0, labelled = 0;
        for (int t = 0; t < scale.Tasks; t++)
        {
            for (int l = 0; l < slots.Length; l++)
            {
                int block = variant == TeacherVariant.SharedInput ? 0 : t;
                float[] a = bases[l].AsSpan(block * scale.TaskRank * scale.Hidden, scale.TaskRank * scale.Hidden).ToArray();
                float[] b = new float[scale.Ffn * scale.TaskRank];
                rng.FillNormal(b, scale.DeltaStd);
                slots[l].Import(new Dictionary<string, AdapterTensor>
                {
                    ["lora_A.weight"] = new("lora_A.weight", [scale.TaskRank, scale.Hidden], a),
                    ["lora_B.weight"] = new("lora_B.weight", [scale.Ffn, scale.TaskRank], b),
                });
            }

            List<PackedSequence> train = Label(teacher, slots, t, scale.TrainPerTask, dataRng, ref changed, ref labelled);
            _train.AddRange(train);
            _test.Add(Label(teacher, slots, t, scale.TestPerTask, dataRng, ref changed, ref labelled));
        }

        ChangedFraction = (double)changed / Math.Max(1, labelled);
        var shuffle = new SeededRandom(31);
        for (int i = _train.Count - 1; i > 0; i--)
        {
            int j = shuffle.NextInt(i + 1);
            (_train[i], _train[j]) = (_train[j], _train[i]);
        }
    }

    /// <summary>The variant.</summary>
    public TeacherVariant Variant { get; }

    /// <summary>Fraction of labels where the task's teacher disagrees with the teacher without ΔW (how much the tasks matter).</summary>
    public double ChangedFraction { get; }

    /// <summary>(in, out) of every adapted projection.</summary>
    public IReadOnlyList<(int In, int Out)> TargetShapes() => [.. Enumerable.Range(0, _scale.Layers).Select(_ => (_scale.Hidden, _scale.Ffn))];

    /// <summary>The teacher's (and student base's) architecture.</summary>
    public LlamaConfig Config() => new()
    {
        HiddenSize = _scale.Hidden,
        IntermediateSize = _scale.Ffn,
        NumHiddenLayers = _scale.Layers,
        NumAttentionHeads = _scale.Heads,
        NumKeyValueHeads = _scale.Heads,
        VocabSize = _scale.Vocab,
        MaxPositionEmbeddings = Math.Max(64, _scale.SeqLen),
        RmsNormEps = 1e-5,
        InitializerRange = _scale.InitializerRange,
    };

    /// <summary>Per-task held-out loss of the student base without any adapter.</summary>
    public double[] BaselineLoss()
    {
        using LlamaModel student = LlamaModel.CreateRandom(Config(), _device, TeacherSeed, trainable: false);
        var tm = new LlamaTrainingModel(student);
        return [.. _test.Select(rows => EvaluationLoss.Of(tm, rows, _scale.MicroBatch).Mean)];
    }

    /// <summary>Trains one adapter method on the mixture and scores it per task.</summary>
    public RunResult Run(string group, MethodSpec spec, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var clock = Stopwatch.StartNew();
        _device.ReleaseCachedMemory();
        _device.ResetPeakBytes();
        using LlamaModel student = LlamaModel.CreateRandom(Config(), _device, TeacherSeed, trainable: false);
        AdapterConfig adapter = spec.Adapter(TargetModules) ?? throw new ArgumentException("The teacher suites compare adapters only.", nameof(spec));
        AdapterInjector.Attach(student, adapter, 1000 * seed);
        var tm = new LlamaTrainingModel(student);
        var options = new TrainingOptions
        {
            Adapter = adapter,
            LearningRate = _scale.LearningRate,
            WarmupSteps = Math.Min(20, _scale.Steps / 10),
            MaxSteps = _scale.Steps,
            MicroBatchSize = _scale.MicroBatch,
            SequenceLength = _scale.SeqLen,
            MaskPrompt = false,
            EvalEvery = Math.Max(1, _scale.Steps / 5),
            Seed = seed,
        };
        List<PackedSequence> validation = [.. _test.SelectMany(rows => rows.Take(Math.Max(1, rows.Count / 4)))];
        TrainingMeasurement m = TrainingMeasurement.Train(tm, options, _train, validation);
        long peak = _device.AllocatorStats.PeakBytes;
        LossResult[] losses = [.. _test.Select(rows => EvaluationLoss.Of(tm, rows, _scale.MicroBatch))];
        return new RunResult
        {
            Group = group,
            Spec = spec,
            Seed = seed,
            TrainableParameters = m.TrainableParameters,
            TaskAccuracy = new Dictionary<string, double>(),
            TaskLoss = Enumerable.Range(0, losses.Length).ToDictionary(t => TaskName(t), t => losses[t].Mean),
            TestLoss = losses.Aggregate(default(LossResult), (a, b) => a + b).Mean,
            TokensPerSecond = m.TokensPerSecond,
            PeakBytes = peak,
            TrainCurve = m.TrainCurve,
            EvalCurve = m.EvalCurve,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The column name of task <paramref name="t"/>.</summary>
    public static string TaskName(int t) => $"task{t}";

    // Rows of task t: [t, uniform tokens ...]; targets = the teacher's argmax at each position. Also counts
    // how many labels differ from the teacher without ΔW (the adapters are zeroed for that pass).
    private List<PackedSequence> Label(LlamaModel teacher, LoRAAdapter[] slots, int task, int count, SeededRandom rng, ref long changed, ref long labelled)
    {
        int len = _scale.SeqLen, v = _scale.Vocab;
        int[] ids = new int[count * len];
        for (int i = 0; i < count; i++)
        {
            ids[i * len] = task;
            for (int p = 1; p < len; p++)
            {
                ids[(i * len) + p] = _scale.Tasks + rng.NextInt(v - _scale.Tasks);
            }
        }

        int[] labels = ArgMax(teacher.ComputeLogits(count, len, ids), v);
        var saved = slots.Select(s => s.Export()).ToArray();
        foreach (LoRAAdapter s in slots)
        {
            s.B.Value.Fill(0);
            s.OnParametersChanged();
        }

        int[] plain = ArgMax(teacher.ComputeLogits(count, len, ids), v);
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i].Import(saved[i].ToDictionary(t => t.Suffix));
        }

        changed += labels.Zip(plain).Count(p => p.First != p.Second);
        labelled += labels.Length;
        return [.. Enumerable.Range(0, count).Select(i => new PackedSequence(ids.AsSpan(i * len, len).ToArray(), labels.AsSpan(i * len, len).ToArray()))];
    }

    private static int[] ArgMax(float[] logits, int vocab)
    {
        int[] result = new int[logits.Length / vocab];
        for (int t = 0; t < result.Length; t++)
        {
            ReadOnlySpan<float> row = logits.AsSpan(t * vocab, vocab);
            int best = 0;
            for (int j = 1; j < vocab; j++)
            {
                best = row[j] > row[best] ? j : best;
            }

            result[t] = best;
        }

        return result;
    }

    // Rows × cols with orthonormal rows (Gram–Schmidt of Gaussian rows).
    private static float[] Orthonormal(SeededRandom rng, int rows, int cols)
    {
        double[][] q = new double[rows][];
        for (int i = 0; i < rows; i++)
        {
            double[] v = new double[cols];
            for (int j = 0; j < cols; j++)
            {
                v[j] = rng.Normal();
            }

            for (int k = 0; k < i; k++)
            {
                double dot = v.Zip(q[k]).Sum(p => p.First * p.Second);
                for (int j = 0; j < cols; j++)
                {
                    v[j] -= dot * q[k][j];
                }
            }

            double norm = Math.Sqrt(v.Sum(x => x * x));
            q[i] = [.. v.Select(x => x / norm)];
        }

        return [.. q.SelectMany(row => row.Select(x => (float)x))];
    }
}
