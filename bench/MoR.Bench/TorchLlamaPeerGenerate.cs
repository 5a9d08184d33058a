using MoR.Benchmarks;
using System.Diagnostics;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace MoR.Bench;

/// <summary>
/// <c>peer generate</c>: greedy decoding with the KV cache, batch 1: one prefill of the prompt (which gives
/// the first new token), then one token per forward. tokens/s = new tokens over prefill + decode time.
/// </summary>
internal static class TorchLlamaPeerGenerate
{
    public static JsonObject Run(PeerArguments a)
    {
        var options = new PeerModelOptions(a, "none");
        int promptTokens = a.Int("prompt-tokens", 16), newTokens = a.Int("new-tokens", 64);
        string? promptIds = a.Optional("prompt-ids");
        a.ThrowIfUnused();
        if (newTokens < 1)
        {
            throw new PeerUsageException("--new-tokens must be >= 1.");
        }

        var report = new JsonObject { ["stack"] = "torchsharp", ["command"] = "generate" };
        using TorchLlamaModel model = options.Open(report);
        long[] prompt = promptIds is not null
            ? [.. promptIds.Split(',').Select(long.Parse)]
            : PeerBatch.Random(1, promptTokens, model.Config.VocabSize, options.Seed).InputIds[0];
        var clock = Stopwatch.StartNew();
        (List<long> generated, double prefillMs) = Greedy(model, prompt, newTokens);
        clock.Stop();
        report["prompt"] = new JsonArray([.. prompt.Select(t => (JsonNode?)t)]);
        report["tokens"] = new JsonArray([.. generated.Select(t => (JsonNode?)t)]);
        report["prefill_ms"] = prefillMs;
        report["elapsed_ms"] = clock.Elapsed.TotalMilliseconds;
        report["tokens_per_s"] = newTokens / clock.Elapsed.TotalSeconds;
        report["decode_tokens_per_s"] = newTokens > 1 ? (newTokens - 1) / ((clock.Elapsed.TotalMilliseconds - prefillMs) / 1000) : null;
        report["peak_rss_bytes"] = ProcessMemory.PeakResidentBytes();
        return report;
    }

    /// <summary>Greedy continuation of <paramref name="prompt"/> through the KV cache, and the prefill's milliseconds.</summary>
    public static (List<long> Tokens, double PrefillMs) Greedy(TorchLlamaModel model, long[] prompt, int newTokens)
    {
        var generated = new List<long>();
        var clock = Stopwatch.StartNew();
        double prefillMs;
        using (no_grad())
        using (TorchKvCache cache = model.NewCache(1, prompt.Length + newTokens))
        {
            using (NewDisposeScope())
            {
                generated.Add(NextToken(model, tensor(prompt, [1, prompt.Length]), cache));
            }

            prefillMs = clock.Elapsed.TotalMilliseconds;
            while (generated.Count < newTokens)
            {
                using var scope = NewDisposeScope();
                generated.Add(NextToken(model, tensor(new[] { generated[^1] }, [1, 1]), cache));
            }
        }

        return (generated, prefillMs);
    }

    private static long NextToken(TorchLlamaModel model, TTensor ids, TorchKvCache cache)
    {
        TTensor logits = model.Logits(ids, cache);
        return logits[0, -1].argmax().item<long>();
    }
}
