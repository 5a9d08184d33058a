using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using MoR.Benchmarks;

namespace MoR.Bench;

/// <summary>
/// Forward + backward of one adapted linear layer at the paper's setting (T = 512, 4096 → 11008, N = 8,
/// r = 32, F32 base) on the CPU: the frozen base, LoRA, MoE-LoRA and MoR through our AdaptedLinear and
/// adapters (baseline: the frozen base, so Ratio − 1 is the overhead), and the same MoR layer written with
/// TorchSharp ops + autograd, per expert and rank-expanded. One call per iteration (~0.5 s each).
/// </summary>
[Config(typeof(Config))]
public class LayerBenchmarks
{
    private static readonly LayerBenchmarkOptions Options = new();

    private LayerBenchmarkSession? _session;
    private TorchLayerPeer? _peer;

    [GlobalSetup]
    public void Setup()
    {
        _session = LayerBenchmarkSession.Create(Device.Cpu, Options);
        _peer = new TorchLayerPeer(Options);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session?.Dispose();
        _peer?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void MoRNative_Base() => Step(LayerBenchmarkOptions.Base);

    [Benchmark]
    public void MoRNative_LoRA() => Step("lora");

    [Benchmark]
    public void MoRNative_MoELoRA() => Step("moe-lora");

    [Benchmark]
    public void MoRNative_MoR() => Step("mor");

    [Benchmark]
    public void TorchSharp_MoR_PerExpert() => _peer!.Step(TorchLayerMethod.MoRPerExpert);

    [Benchmark]
    public void TorchSharp_MoR_RankExpanded() => _peer!.Step(TorchLayerMethod.MoRRankExpanded);

    private void Step(string method)
    {
        _session!.Step(method);
        Device.Cpu.Synchronize();
    }

    private static double? Flops(BenchmarkCase c)
    {
        string name = c.Descriptor.WorkloadMethod.Name;
        string method = name.EndsWith("_Base", StringComparison.Ordinal) ? LayerBenchmarkOptions.Base
            : name.EndsWith("_LoRA", StringComparison.Ordinal) && !name.Contains("MoE", StringComparison.Ordinal) ? "lora"
            : name.EndsWith("_MoELoRA", StringComparison.Ordinal) ? "moe-lora"
            : "mor";
        return Options.Flops.TrainingStep(Options.ConfigFor(method)) * Options.T;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            Add(BenchJob.Create(warmup: 1, iterations: 5, oneCallPerIteration: true));
            AddColumn(new GflopsColumn(Flops));
        }
    }
}
