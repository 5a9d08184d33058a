using MoR.Benchmarks;
using System.Diagnostics;
using System.Text.Json.Nodes;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// <c>peer train</c>: optimizer steps (<see cref="TorchTrainingStep"/>) of the TorchSharp LLaMA on one fixed
/// batch at a constant learning rate, each timed whole with a Stopwatch; tokens/s = B·T / median step time.
/// </summary>
internal static class TorchLlamaPeerTrain
{
    public static JsonObject Run(PeerArguments a)
    {
        var options = new PeerModelOptions(a, "mor");
        int batch = a.Int("batch", 1), seq = a.Int("seq", 256), steps = a.Int("steps", 10), warmup = a.Int("warmup", 2);
        double lr = a.Double("lr", 1e-4), maxGradNorm = a.Double("max-grad-norm", 1.0);
        string? batchFile = a.Optional("batch-file");
        a.ThrowIfUnused();
        if (options.Method == PeerMethod.None || steps < 1 || warmup < 0)
        {
            throw new PeerUsageException("peer train needs --method lora|mor|mor-expanded|moe-lora|full, --steps >= 1 and --warmup >= 0.");
        }

        var report = new JsonObject { ["stack"] = "torchsharp", ["command"] = "train" };
        using TorchLlamaModel model = options.Open(report);
        PeerBatch data = batchFile is null ? PeerBatch.Random(batch, seq, model.Config.VocabSize, options.Seed) : PeerBatch.Read(batchFile).Take(batch, seq);
        (TTensor ids, TTensor targets) = data.ToTensors();
        using (ids)
        using (targets)
        {
            using var trainer = new TorchTrainingStep(model, lr, maxGradNorm);
            var losses = new JsonArray();
            var stepMs = new List<double>();
            for (int step = 0; step < warmup + steps; step++)
            {
                var clock = Stopwatch.StartNew();
                losses.Add(trainer.Run(ids, targets));
                clock.Stop();
                Console.Error.WriteLine($"peer train: step {step + 1}/{warmup + steps} loss {losses[^1]} {clock.Elapsed.TotalMilliseconds:F0} ms{(step < warmup ? " (warm-up)" : string.Empty)}");
                if (step >= warmup)
                {
                    stepMs.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            TimingSummary timing = TimingSummary.FromSamples([.. stepMs]);
            double median = timing.MedianMs;
            report["batch"] = batch;
            report["seq"] = seq;
            report["steps"] = steps;
            report["warmup"] = warmup;
            report["lr"] = lr;
            report["max_grad_norm"] = maxGradNorm;
            report["tokens_per_s"] = batch * seq / (median / 1000);
            report["step_ms_median"] = median;
            report["step_ms_min"] = timing.MinMs;
            report["step_ms_max"] = timing.MaxMs;
            report["step_ms"] = new JsonArray([.. stepMs.Select(ms => (JsonNode?)ms)]);
            report["peak_rss_bytes"] = ProcessMemory.PeakResidentBytes();
            report["losses"] = losses;
            report["trainable_parameters"] = trainer.Parameters.Sum(p => p.numel());
            return report;
        }
    }
}
