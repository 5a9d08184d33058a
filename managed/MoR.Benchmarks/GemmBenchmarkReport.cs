using System.Text.Json;

namespace MoR.Benchmarks;

/// <summary>What <see cref="GemmBenchmark.Run"/> measured.</summary>
/// <param name="Environment">Where it ran.</param>
/// <param name="Warmup">Untimed calls per shape and type.</param>
/// <param name="Results">One entry per shape and weight type, in the order run.</param>
public sealed record GemmBenchmarkReport(BenchmarkEnvironment Environment, int Warmup, IReadOnlyList<GemmResult> Results)
{
    /// <summary>Indented JSON (camelCase names, enums as text).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BenchmarkJsonContext.Default.GemmBenchmarkReport);

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="JsonException">The text is not such a report.</exception>
    public static GemmBenchmarkReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, BenchmarkJsonContext.Default.GemmBenchmarkReport)
        ?? throw new JsonException("The JSON document is null, not a GEMM benchmark report.");
}
