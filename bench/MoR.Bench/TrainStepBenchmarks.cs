using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MoR.Benchmarks;
using MoR.Data;
using MoR.Model;
using MoR.Training;
using TTensor = global::TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// One optimizer step (forward + backward + clipping + AdamW) of the ~30M LLaMA preset, batch 1 x 256, adapters
/// r = 32 (MoR N = 8) on gate/up/down: ours through the real <see cref="Trainer"/>, the TorchSharp peer's through
/// <see cref="TorchTrainingStep"/> (baseline), both on the same random checkpoint. The Stopwatch counterpart with
/// peak memory and the op breakdown is <c>run-benchmarks.sh train</c> (docs/PERFORMANCE.md).
/// </summary>
[Config(typeof(Config))]
public class TrainStepBenchmarks
{
    private const int SeqLen = 256;
    private static readonly Lazy<string> ModelFolder = new(WriteModel);

    private LlamaModel? _model;
    private Trainer? _trainer;
    private TorchLlamaModel? _torch;
    private TorchTrainingStep? _torchStep;
    private TTensor? _ids;
    private TTensor? _targets;

    /// <summary>lora or mor.</summary>
    [Params("lora", "mor")]
    public string Method { get; set; } = "lora";

    [GlobalSetup]
    public void Setup()
    {
        string dir = ModelFolder.Value;
        _model = LlamaModel.Load(dir, Device.Cpu);
        var options = new TrainBenchmarkOptions(Method, Batch: 1, SeqLen: SeqLen);
        IReadOnlyList<PackedSequence> rows = TrainBenchmark.RandomRows(_model.Config.VocabSize, 1, SeqLen, seed: 1);
        _trainer = new Trainer(new LlamaTrainingModel(_model), TrainBenchmark.Prepare(_model, options), [.. rows]);

        string peerMethod = Method == "mor" ? "mor-expanded" : Method;
        var peer = new PeerModelOptions(
            new PeerArguments(["--model", dir, "--method", peerMethod, "--rank", "32", "--alpha", "64", "--experts", "8"]), peerMethod);
        global::TorchSharp.torch.set_num_threads(Environment.ProcessorCount);
        _torch = peer.Open(new JsonObject());
        _torchStep = new TorchTrainingStep(_torch, learningRate: 1e-4, maxGradNorm: 1.0);
        (_ids, _targets) = PeerBatch.Random(1, SeqLen, _model.Config.VocabSize, seed: 1).ToTensors();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _trainer?.Dispose();
        _model?.Dispose();
        _torchStep?.Dispose();
        _torch?.Dispose();
        _ids?.Dispose();
        _targets?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public float TorchSharp() => _torchStep!.Run(_ids!, _targets!);

    [Benchmark]
    public void MoRNative()
    {
        // The trainer runs until cancelled; cancelling from its step event makes Run return after exactly one step.
        using var stop = new CancellationTokenSource();
        void OneStep(object? sender, StepMetrics m) => stop.Cancel();
        _trainer!.StepCompleted += OneStep;
        _trainer.Run(stop.Token);
        _trainer.StepCompleted -= OneStep;
    }

    private static string WriteModel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mor-bench-train-30m");
        using LlamaModel model = LlamaModel.CreateRandom(ModelPreset.Get("30m"), Device.Cpu, seed: 0, trainable: false);
        model.Save(dir, DType.F32);
        return dir;
    }

    private sealed class Config : ManualConfig
    {
        public Config() => Add(BenchJob.Create(warmup: 2, iterations: 5, oneCallPerIteration: true));
    }
}
