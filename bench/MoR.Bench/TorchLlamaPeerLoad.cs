using MoR.Benchmarks;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace MoR.Bench;

/// <summary><c>peer load</c>: time to load the model folder into TorchSharp tensors, and the memory it takes.</summary>
internal static class TorchLlamaPeerLoad
{
    public static JsonObject Run(PeerArguments a)
    {
        var options = new PeerModelOptions(a, "none");
        a.ThrowIfUnused();
        var report = new JsonObject { ["stack"] = "torchsharp", ["command"] = "load" };
        long rssBefore = ProcessMemory.PeakResidentBytes();
        var clock = Stopwatch.StartNew();
        using TorchLlamaModel model = options.Open(report);
        clock.Stop();
        report["load_ms"] = clock.Elapsed.TotalMilliseconds;
        report["peak_rss_bytes"] = ProcessMemory.PeakResidentBytes();
        report["peak_rss_before_load_bytes"] = rssBefore;
        report["layers"] = model.Config.NumHiddenLayers;
        report["hidden"] = model.Config.HiddenSize;
        report["vocab"] = model.Config.VocabSize;
        return report;
    }
}
