using MoR.Adapters;
using System.Diagnostics;
using System.Globalization;
using MoR.Data;
using MoR.IO;
using MoR.Model;
using MoR.Tasks;
using MoR.Tokenization;
using MoR.Training;

namespace MoR.Cli;

/// <summary>
/// <c>mor finetune</c> with no arguments: a complete run that needs no download. It builds a small byte-level
/// LLaMA, pretrains it (full fine-tuning) on two skills of the synthetic suite and caches it, then trains a
/// MoR adapter on a mixture that adds two held-out tasks and prints per-task exact-match accuracy before and
/// after.
/// </summary>
/// <remarks>
/// Sized to finish in well under a minute on two CPU cores, pretraining included; the second run reuses the
/// cached base (<c>$MOR_CACHE_DIR</c>, else <c>~/.cache/mornative</c>). docs/TRAINING.md has the measured times
/// and accuracy tables; the outcome is the same on any thread count, but moves between builds of the library
/// when a kernel's summation order changes (tiny models are that sensitive). An earlier recipe (4 layers,
/// d=128, six pretraining tasks, 600 steps) learned almost nothing: too few examples per skill.
/// </remarks>
internal static class Quickstart
{
    /// <summary>Bump when the base model's recipe changes, so stale caches are not reused.</summary>
    public const string BaseName = "quickstart-base-v2";

    private const int SeqLen = 48, TestPerTask = 40;

    /// <summary>
    /// The base learns two skills (copying short strings, adding and subtracting small numbers); the adapter
    /// then learns two tasks built on them that the base never saw (a per-letter shift; a two-step
    /// reasoning chain) from a mixture that keeps the pretraining tasks in, as in the paper's multi-task
    /// setting. Short problems: a model this small learns each skill in a few thousand steps.
    /// </summary>
    public static ISyntheticTask[] PretrainTasks() => [new CopyTask(2, 5), new ArithmeticTask(10)];

    /// <summary>Held out of pretraining: the adapter has to learn these.</summary>
    public static ISyntheticTask[] HeldOutTaskSet() => [new CaesarShiftTask(2, 5), new ReasoningChainTask(2, 2)];

    /// <summary>The names of <see cref="HeldOutTaskSet"/>.</summary>
    public static readonly string[] HeldOutTasks = ["caesar", "chain"];

    /// <summary>The recipe knobs the tests shrink to keep CI fast.</summary>
    internal sealed record Recipe(int PretrainSteps, int FinetuneSteps, int ExamplesPerTask, int MicroBatch)
    {
        public static Recipe Default { get; } = new(PretrainSteps: 3000, FinetuneSteps: 1500, ExamplesPerTask: 4000, MicroBatch: 16);
    }

    internal static Recipe Current { get; set; } = Recipe.Default;

    public static LlamaConfig BaseConfig() => new()
    {
        HiddenSize = 64,
        IntermediateSize = 176,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 4,
        VocabSize = ByteTokenizer.Instance.VocabSize,
        MaxPositionEmbeddings = 256,
        RmsNormEps = 1e-5,
        BosTokenId = ByteTokenizer.Bos,
        EosTokenIds = [ByteTokenizer.Eos],
        PadTokenId = ByteTokenizer.Pad,
    };

    /// <summary>Tests point the cache at a temporary folder.</summary>
    internal static string? CacheOverride { get; set; }

    public static string CacheDirectory() =>
        CacheOverride ?? (Environment.GetEnvironmentVariable("MOR_CACHE_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mornative"));

    public static int Run(CliConsole console, string deviceName, bool json, string? output)
    {
        var clock = Stopwatch.StartNew();
        Recipe recipe = Current;
        ITrainingProgress progress = TrainingProgress.For(console, json);
        MoR.Device device = CommonOptions.OpenDevice(deviceName);
        output ??= "mor-quickstart";
        ByteTokenizer tokenizer = ByteTokenizer.Instance;
        ISyntheticTask[] heldOut = HeldOutTaskSet();
        ISyntheticTask[] pretrainTasks = PretrainTasks();
        progress.Info("mor finetune quickstart (no --model/--data given): nothing to download.");
        progress.Info($"  1. a small byte-level LLaMA ({Describe(BaseConfig())}) is pretrained on {string.Join(", ", pretrainTasks.Select(t => t.Name))}");
        progress.Info($"  2. a MoR adapter is trained on a mixture with the held-out tasks {string.Join(", ", HeldOutTasks)}");
        progress.Info($"  3. exact-match accuracy per task (greedy decoding, {TestPerTask} test problems each) before and after");

        string baseDir = Path.Combine(CacheDirectory(), BaseName);
        if (!File.Exists(Path.Combine(baseDir, "model.safetensors")))
        {
            Pretrain(console, progress, device, baseDir, pretrainTasks, recipe);
        }
        else
        {
            progress.Info($"using the cached base model {baseDir} (delete it to pretrain again)");
        }

        using LlamaModel model = LlamaModel.Load(baseDir, device);
        var tests = heldOut.Concat(pretrainTasks).ToDictionary(t => t.Name, t => TaskSuite.Generate(t, TaskSplit.Test, TestPerTask, seed: 1234));
        progress.Info("scoring the base model ...");
        Dictionary<string, double> before = tests.ToDictionary(kv => kv.Key, kv => GreedyAnswerer.Accuracy(model, tokenizer, kv.Value));

        var options = new TrainingOptions
        {
            Adapter = new MoRConfig { Rank = 8, Experts = 4, Alpha = 16, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
            LearningRate = 1e-2f,
            WarmupSteps = Math.Min(20, recipe.FinetuneSteps / 10),
            MaxSteps = recipe.FinetuneSteps,
            MicroBatchSize = recipe.MicroBatch,
            SequenceLength = SeqLen,
            EvalEvery = Math.Max(1, recipe.FinetuneSteps / 5),
            EvalBatches = 4,
            Seed = 7,
        };
        var encoder = new ExampleEncoder(tokenizer, chat: null, maskPrompt: true);
        // The mixture keeps the pretraining tasks in, so the adapter adds skills instead of overwriting them.
        ISyntheticTask[] mixture = [.. heldOut, .. pretrainTasks];
        List<PackedSequence> train = Rows(encoder, TaskSuite.Mixture(mixture, TaskSplit.Train, recipe.ExamplesPerTask, seed: 99));
        List<PackedSequence> validation = Rows(encoder, TaskSuite.Mixture(mixture, TaskSplit.Validation, 50, seed: 99));
        var settings = new FinetuneSettings
        {
            ModelDirectory = baseDir,
            DataPath = "(synthetic suite: " + string.Join(", ", mixture.Select(t => t.Name)) + ")",
            OutputDirectory = output,
            Training = options,
            Device = deviceName,
            Json = json,
        };
        progress.Info($"fine-tuning a {options.Adapter} adapter on {string.Join(", ", mixture.Select(t => t.Name))}: {train.Count} rows of {SeqLen} tokens");
        int code = FinetuneJob.Train(console, progress, settings, model, train, validation, "mor adapter");
        if (code != ExitCodes.Ok)
        {
            return code;
        }

        progress.Info("scoring the adapted model ...");
        Dictionary<string, double> after = tests.ToDictionary(kv => kv.Key, kv => GreedyAnswerer.Accuracy(model, tokenizer, kv.Value));
        PrintAccuracies(console, json, before, after, clock.Elapsed);
        return ExitCodes.Ok;
    }

    private static void Pretrain(CliConsole console, ITrainingProgress progress, MoR.Device device, string baseDir, ISyntheticTask[] tasks, Recipe recipe)
    {
        progress.Info($"pretraining the base model (first run only; cached in {baseDir}) ...");
        var encoder = new ExampleEncoder(ByteTokenizer.Instance, chat: null, maskPrompt: true);
        List<PackedSequence> rows = Rows(encoder, TaskSuite.Mixture(tasks, TaskSplit.Train, recipe.ExamplesPerTask, seed: 42));
        var options = new TrainingOptions
        {
            Adapter = null,
            LearningRate = 3e-3f,
            WarmupSteps = Math.Min(30, recipe.PretrainSteps / 10),
            MaxSteps = recipe.PretrainSteps,
            MicroBatchSize = recipe.MicroBatch,
            SequenceLength = SeqLen,
            WeightDecay = 0.01f,
            Seed = 42,
        };
        using LlamaModel model = LlamaModel.CreateRandom(BaseConfig(), device, seed: 42, trainable: true);
        using (var trainer = new Trainer(new LlamaTrainingModel(model), options, rows))
        {
            TrainingResult result = progress.Run(trainer, "pretrain", () => trainer.Run(console.Cancellation));
            if (!result.Completed)
            {
                throw new OperationCanceledException("Pretraining was interrupted; the base model was not cached.");
            }

            progress.Info($"pretrained {result.Step} steps in {result.Elapsed.TotalSeconds:F0} s, final loss {result.LastLoss:F3}");
        }

        // A half-written base is never reused: the cache folder is replaced in one step.
        ModelFolderWriter.SaveReplacing(model, baseDir, DType.F32, ByteTokenizer.Save);
    }

    private static List<PackedSequence> Rows(ExampleEncoder encoder, List<TaskSample> samples) =>
        SequencePacker.Pack(samples.Select(s => encoder.EncodePromptCompletion(s.Prompt, s.Answer)), SeqLen, ByteTokenizer.Pad, pack: true, out _);

    private static void PrintAccuracies(CliConsole console, bool json, Dictionary<string, double> before, Dictionary<string, double> after, TimeSpan elapsed)
    {
        if (json)
        {
            var tasks = new System.Text.Json.Nodes.JsonObject();
            foreach (string name in before.Keys)
            {
                tasks[name] = new System.Text.Json.Nodes.JsonObject { ["held_out"] = HeldOutTasks.Contains(name), ["before"] = before[name], ["after"] = after[name] };
            }

            console.Out.WriteLine(new System.Text.Json.Nodes.JsonObject { ["type"] = "accuracy", ["tasks"] = tasks, ["seconds"] = Math.Round(elapsed.TotalSeconds, 1) }.ToJsonString());
            return;
        }

        TextWriter o = console.Out;
        o.WriteLine();
        o.WriteLine($"exact-match accuracy ({TestPerTask} test problems per task, greedy decoding)");
        o.WriteLine($"  {"task",-8} {"kind",-10} {"base",6} {"+ MoR",7}");
        foreach (string name in before.Keys.OrderBy(n => HeldOutTasks.Contains(n) ? 0 : 1))
        {
            o.WriteLine($"  {name,-8} {(HeldOutTasks.Contains(name) ? "held-out" : "pretrain"),-10} {before[name],6:P0} {after[name],7:P0}");
        }

        o.WriteLine($"quickstart finished in {elapsed.TotalSeconds:F0} s");
    }

    private static string Describe(LlamaConfig c) =>
        $"{c.NumHiddenLayers} layers, d={c.HiddenSize}, ffn={c.IntermediateSize}, {c.NumAttentionHeads} heads, byte vocabulary of {c.VocabSize}";
}
