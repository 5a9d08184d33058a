using System.Text.Json;

namespace MoR.Benchmarks;

/// <summary>What <c>mor bench model</c> measures on one checkpoint: loading, evaluation and generation.</summary>
/// <param name="Model">The model folder.</param>
/// <param name="ModelParameters">Parameters in the checkpoint.</param>
/// <param name="FileBytes">Size of the weight files.</param>
/// <param name="LoadSeconds">Wall time of <c>LlamaModel.Load</c> (parse, map, copy, convert).</param>
/// <param name="ResidentBeforeLoadBytes">The process's resident size just before loading (the runtime's own).</param>
/// <param name="PeakResidentAfterLoadBytes">The process's peak resident size right after loading.</param>
/// <param name="EvalTokens">Tokens per evaluation pass (batch x sequence length).</param>
/// <param name="EvalTokensPerSecond">Forward-only loss evaluation throughput (median pass).</param>
/// <param name="PromptTokens">Prompt length for generation.</param>
/// <param name="GeneratedTokens">New tokens generated (greedy, KV cache, no stop token).</param>
/// <param name="GenerateTokensPerSecond">New tokens over the generation's wall time, prompt prefill included.</param>
/// <param name="PeakResidentBytes">The process's peak resident size at the end.</param>
/// <param name="Environment">Where it ran.</param>
public sealed record ModelBenchmarkResult(
    string Model,
    long ModelParameters,
    long FileBytes,
    double LoadSeconds,
    long ResidentBeforeLoadBytes,
    long PeakResidentAfterLoadBytes,
    int EvalTokens,
    double EvalTokensPerSecond,
    int PromptTokens,
    int GeneratedTokens,
    double GenerateTokensPerSecond,
    long PeakResidentBytes,
    BenchmarkEnvironment Environment)
{
    /// <summary>The peak resident size the load added, over the weight files' size (the target: ≤ 1.2).</summary>
    public double LoadPeakOverFileSize => (double)(PeakResidentAfterLoadBytes - ResidentBeforeLoadBytes) / FileBytes;

    /// <summary>The result as one JSON object (camelCase).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BenchmarkJsonContext.Default.ModelBenchmarkResult);
}
