using MoR.Benchmarks;
using System.Diagnostics;
using System.Text.Json.Nodes;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// <c>peer eval</c>: the mean next-token NLL of a data set without gradients, one sequence at a time as
/// <c>mor eval</c> scores it ("tokens" counts scored targets, as there); tokens/s counts input tokens over
/// the timed pass, which follows one untimed forward of the first sequence.
/// </summary>
internal static class TorchLlamaPeerEval
{
    public static JsonObject Run(PeerArguments a)
    {
        var options = new PeerModelOptions(a, "none");
        string? batchFile = a.Optional("batch-file");
        int batch = a.Int("batch", 1), seq = a.Int("seq", 256);
        a.ThrowIfUnused();
        var report = new JsonObject { ["stack"] = "torchsharp", ["command"] = "eval" };
        using TorchLlamaModel model = options.Open(report);
        PeerBatch data = batchFile is null ? PeerBatch.Random(batch, seq, model.Config.VocabSize, options.Seed) : PeerBatch.Read(batchFile);
        using (no_grad())
        {
            Score(model, data, 0, 1);
            var clock = Stopwatch.StartNew();
            (double nll, long scored, long inputs) = Score(model, data, 0, data.InputIds.Count);
            clock.Stop();
            report["sequences"] = data.InputIds.Count;
            report["tokens"] = scored;
            report["input_tokens"] = inputs;
            report["mean_nll"] = nll / scored;
            report["elapsed_ms"] = clock.Elapsed.TotalMilliseconds;
            report["tokens_per_s"] = inputs / clock.Elapsed.TotalSeconds;
            report["peak_rss_bytes"] = ProcessMemory.PeakResidentBytes();
            return report;
        }
    }

    /// <summary>Summed NLL, scored targets and input tokens of sequences [first, first + count).</summary>
    public static (double Nll, long Scored, long Inputs) Score(TorchLlamaModel model, PeerBatch data, int first, int count)
    {
        double nll = 0;
        long scored = 0, inputs = 0;
        for (int i = first; i < first + count; i++)
        {
            using var scope = NewDisposeScope();
            (TTensor ids, TTensor targets) = data.ToTensors(i, 1);
            nll += model.Loss(ids, targets, sum: true).item<float>();
            scored += targets.ne(-100).sum().item<long>();
            inputs += ids.numel();
        }

        return (nll, scored, inputs);
    }
}
