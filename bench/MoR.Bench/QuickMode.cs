using System.Text.Json;
using System.Text.Json.Serialization;
using MoR.Benchmarks;

namespace MoR.Bench;

/// <summary>
/// Stopwatch numbers without BenchmarkDotNet, quick enough to quote in notes: MoR.Benchmarks' GEMM and layer
/// runners, then the TorchSharp peers on the same shapes, then one table with the ratios.
/// </summary>
/// <remarks>
/// The machine is shared and its load drifts over minutes, so ours and the peer are measured close in
/// time: each GEMM shape runs ours and then TorchSharp's at once, and the layer's nine formulations (four
/// ours, five TorchSharp) take turns within every iteration. The price: each library's thread pool
/// (OpenBLAS's, libtorch's OpenMP) may still be spinning for a moment when the other starts; both yield,
/// and on a machine this loaded the drift is the larger error.
/// </remarks>
internal static class QuickMode
{
    public static int Run(IReadOnlyList<string> args)
    {
        QuickOptions options;
        try
        {
            options = QuickOptions.Parse(args);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(QuickOptions.Usage);
            return 2;
        }

        bool torchAvailable = options.Torch && TorchSharpRuntime.IsAvailable;
        if (options.Torch && !torchAvailable)
        {
            Console.Error.WriteLine(TorchSharpRuntime.Failure);
            Console.Error.WriteLine("Continuing with MoRNative's numbers only.");
        }

        string torchInfo = !options.Torch ? "TorchSharp not run (--no-torch)"
            : torchAvailable ? TorchSharpRuntime.Describe() : "TorchSharp did not load (see stderr)";
        Device device = Device.Cpu;

        GemmBenchmarkReport? gemm = null;
        var torchGemm = new List<GemmResult>();
        if (options.RunGemm)
        {
            // One shape and type at a time, ours then TorchSharp's right after, so both see about the same load.
            var ours = new List<GemmResult>();
            foreach (GemmShape shape in options.GemmShapes)
            {
                foreach (DType dtype in GemmBenchmark.DefaultWeightDTypes)
                {
                    Progress($"GEMM {shape} {dtype}");
                    GemmBenchmarkReport one = GemmBenchmark.Run(device, [shape], options.Iterations, options.Warmup, [dtype]);
                    gemm ??= one;
                    ours.Add(one.Results[0]);
                    if (torchAvailable)
                    {
                        using var peer = new TorchGemmPeer(shape, dtype);
                        torchGemm.Add(one.Results[0] with { Timing = IterationTimer.Measure(peer.Run, NoSync, options.Warmup, options.Iterations) });
                    }
                }
            }

            gemm = gemm! with { Results = ours };
        }

        LayerBenchmarkReport? layer = null;
        var torchLayer = new List<TorchLayerResult>();
        if (options.RunLayer)
        {
            LayerBenchmarkOptions layerOptions = options.Layer;
            Progress($"layer fwd+bwd: T={layerOptions.T} {layerOptions.DIn}->{layerOptions.DOut} N={layerOptions.N} r={layerOptions.R} base {layerOptions.BaseDType}, ours and TorchSharp taking turns");
            BenchmarkEnvironment environment = BenchmarkEnvironment.Capture(device);
            using LayerBenchmarkSession session = LayerBenchmarkSession.Create(device, layerOptions);
            using TorchLayerPeer? peer = torchAvailable ? new TorchLayerPeer(layerOptions) : null;
            TorchLayerMethod[] peerMethods = peer is null ? [] : Enum.GetValues<TorchLayerMethod>();
            Action[] steps =
            [
                .. LayerBenchmarkSession.Methods.Select(m => (Action)(() => session.Step(m))),
                .. peerMethods.Select(m => (Action)(() => peer!.Step(m))),
            ];
            TimingSummary[] timings = IterationTimer.MeasureInTurns(steps, device.Synchronize, layerOptions.Warmup, layerOptions.Iterations);
            int ourCount = LayerBenchmarkSession.Methods.Count;
            layer = session.CreateReport(timings[..ourCount], environment);
            torchLayer.AddRange(peerMethods.Select((m, i) => new TorchLayerResult(m, timings[ourCount + i])));
        }

        var report = new QuickReport(torchInfo, gemm, torchGemm, layer, torchLayer);
        Console.Write(QuickTable.Format(report));
        if (options.JsonPath is not null)
        {
            File.WriteAllText(options.JsonPath, JsonSerializer.Serialize(report, JsonOptions));
            Progress($"wrote {options.JsonPath}");
        }

        return 0;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    // TorchSharp on the CPU returns when the work is done.
    private static void NoSync()
    {
    }

    private static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
