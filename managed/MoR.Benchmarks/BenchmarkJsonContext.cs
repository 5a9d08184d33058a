using System.Text.Json.Serialization;

namespace MoR.Benchmarks;

/// <summary>
/// Source-generated System.Text.Json metadata for the benchmark reports, so that a trimmed or AOT-published
/// <c>mor</c> can write them. camelCase names, enums (DType, method) as text, indented.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    WriteIndented = true)]
[JsonSerializable(typeof(GemmBenchmarkReport))]
[JsonSerializable(typeof(LayerBenchmarkReport))]
[JsonSerializable(typeof(TrainBenchmarkResult))]
[JsonSerializable(typeof(ModelBenchmarkResult))]
public sealed partial class BenchmarkJsonContext : JsonSerializerContext;
