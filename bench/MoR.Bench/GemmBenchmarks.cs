using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MoR.Benchmarks;

namespace MoR.Bench;

/// <summary>
/// y = x·Wᵀ (x [M,K] F32, W [N,K] F32 or BF16): our <see cref="Tensor.MatMul(Tensor, Tensor, Tensor, float, float, bool, bool)"/>
/// into a preallocated output, as <c>Linear.Forward</c> does, against TorchSharp's <c>torch.matmul(x, W.t())</c>
/// (the baseline; a new output per call, as user code does).
/// </summary>
[Config(typeof(Config))]
public class GemmBenchmarks
{
    private Tensor? _x, _w, _y;
    private TorchGemmPeer? _peer;

    public static IEnumerable<GemmShape> Shapes => GemmBenchmark.DefaultShapes;

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; }

    [Params(DType.F32, DType.BF16)]
    public DType Weight { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Numerics.SeededRandom(0x6E3D);
        _x = BenchmarkData.Uniform(Device.Cpu, rng, 1.0, Shape.M, Shape.K);
        using Tensor w = BenchmarkData.Uniform(Device.Cpu, rng, 0.02, Shape.N, Shape.K);
        _w = w.To(Weight);
        _y = Tensor.Empty(Device.Cpu, DType.F32, Shape.M, Shape.N);
        _peer = new TorchGemmPeer(Shape, Weight);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _peer?.Dispose();
        _x?.Dispose();
        _w?.Dispose();
        _y?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void TorchSharp() => _peer!.Run();

    [Benchmark]
    public void MoRNative()
    {
        Tensor.MatMul(_x!, _w!, _y!, transposeB: true);
        Device.Cpu.Synchronize();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            Add(BenchJob.Create(warmup: 2, iterations: 5, oneCallPerIteration: false));
            AddColumn(new GflopsColumn(c => c.Parameters["Shape"] is GemmShape s ? s.Flops : null));
        }
    }
}
