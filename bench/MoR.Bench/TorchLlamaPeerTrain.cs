using System.Diagnostics;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// <c>peer train</c>: optimizer steps of the TorchSharp LLaMA on one fixed batch. A step is what a
/// TorchSharp user's loop does: forward + loss, backward, gradient clipping, AdamW step, zero_grad; each is
/// timed whole with a Stopwatch. The learning rate is constant and weight decay 0 (our trainer's default).
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
            throw new PeerUsageException("peer train needs --method lora|mor|mor-expanded|full, --steps >= 1 and --warmup >= 0.");
        }

        var report = new JsonObject { ["stack"] = "torchsharp", ["command"] = "train" };
        using TorchLlamaModel model = options.Open(report);
        PeerBatch data = batchFile is null ? PeerBatch.Random(batch, seq, model.Config.VocabSize, options.Seed) : PeerBatch.Read(batchFile).Take(batch, seq);
        (TTensor ids, TTensor targets) = data.ToTensors();
        using (ids)
        using (targets)
        {
            IReadOnlyList<Parameter> parameters = model.TrainableParameters();
            using var optimizer = optim.AdamW(parameters, lr);
            var losses = new JsonArray();
            var stepMs = new List<double>();
            for (int step = 0; step < warmup + steps; step++)
            {
                var clock = Stopwatch.StartNew();
                using (NewDisposeScope())
                {
                    TTensor loss = model.Loss(ids, targets);
                    loss.backward();
                    if (maxGradNorm > 0)
                    {
                        nn.utils.clip_grad_norm_(parameters, maxGradNorm);
                    }

                    optimizer.step();
                    optimizer.zero_grad();
                    losses.Add(loss.item<float>());
                }

                clock.Stop();
                Console.Error.WriteLine($"peer train: step {step + 1}/{warmup + steps} loss {losses[^1]} {clock.Elapsed.TotalMilliseconds:F0} ms{(step < warmup ? " (warm-up)" : string.Empty)}");
                if (step >= warmup)
                {
                    stepMs.Add(clock.Elapsed.TotalMilliseconds);
                }
            }

            double median = Median(stepMs);
            report["batch"] = batch;
            report["seq"] = seq;
            report["steps"] = steps;
            report["warmup"] = warmup;
            report["lr"] = lr;
            report["max_grad_norm"] = maxGradNorm;
            report["tokens_per_s"] = batch * seq / (median / 1000);
            report["step_ms_median"] = median;
            report["step_ms_min"] = stepMs.Min();
            report["step_ms"] = new JsonArray([.. stepMs.Select(ms => (JsonNode?)ms)]);
            report["peak_rss_bytes"] = PeerProcess.PeakRssBytes();
            report["losses"] = losses;
            report["trainable_parameters"] = parameters.Sum(p => p.numel());
            return report;
        }
    }

    public static double Median(IReadOnlyList<double> values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
