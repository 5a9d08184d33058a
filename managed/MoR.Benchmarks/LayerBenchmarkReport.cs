using System.Text.Json;

namespace MoR.Benchmarks;

/// <summary>What <see cref="LayerBenchmark.Run"/> measured.</summary>
/// <param name="Environment">Where it ran.</param>
/// <param name="Options">The layer and iteration counts.</param>
/// <param name="Results">Base, LoRA, MoE-LoRA, MoR, in that order.</param>
public sealed record LayerBenchmarkReport(BenchmarkEnvironment Environment, LayerBenchmarkOptions Options, IReadOnlyList<LayerResult> Results)
{
    /// <summary>The result for <paramref name="method"/>.</summary>
    /// <exception cref="KeyNotFoundException">The report has no such method.</exception>
    public LayerResult this[string method] =>
        Results.FirstOrDefault(r => r.Method == method) ?? throw new KeyNotFoundException($"No {method} result in this report.");

    /// <summary>Indented JSON (camelCase names, enums as text).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BenchmarkJsonContext.Default.LayerBenchmarkReport);

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="JsonException">The text is not such a report.</exception>
    public static LayerBenchmarkReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, BenchmarkJsonContext.Default.LayerBenchmarkReport)
        ?? throw new JsonException("The JSON document is null, not a layer benchmark report.");
}
