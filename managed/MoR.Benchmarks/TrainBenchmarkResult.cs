using System.Text.Json;

namespace MoR.Benchmarks;

/// <summary>One <c>mor bench train</c> cell: the throughput, memory and op breakdown of one method's optimizer step.</summary>
/// <param name="Stack">Who ran it (<c>mornative</c>; peers write the same record with their name).</param>
/// <param name="Method">lora, dora, moe-lora, mor or full.</param>
/// <param name="Model">The model folder or preset.</param>
/// <param name="ModelParameters">Parameters of the base model.</param>
/// <param name="TrainableParameters">Parameters the optimizer updates.</param>
/// <param name="FrozenDType">The frozen weights' dtype (F32 or BF16).</param>
/// <param name="Batch">Rows per step.</param>
/// <param name="SeqLen">Tokens per row.</param>
/// <param name="Step">Step times (warm-up and the profiled step excluded).</param>
/// <param name="TokensPerSecond">Batch·SeqLen over the median step.</param>
/// <param name="StepTflops">Matmul and attention FLOPs a step must do (weight gradients only where trained) over the median step, in TFLOP/s.</param>
/// <param name="PeakDeviceBytes">The native allocator's high-water mark from before the first step (weights, adapters, optimizer state, activations).</param>
/// <param name="PeakResidentBytes">The process's peak resident memory over the whole run, loading included.</param>
/// <param name="Losses">Mean token loss of every step, warm-up first (step 0 is the initial parameters').</param>
/// <param name="Breakdown">Per op category in the profiled step (every native call timed; on CUDA each synchronised).</param>
/// <param name="TopFunctions">The native functions that took most of the profiled step.</param>
/// <param name="SteadyStateAllocations">System allocations the allocator made during the timed steps (0: allocation-free).</param>
/// <param name="Environment">Where it ran.</param>
public sealed record TrainBenchmarkResult(
    string Stack,
    string Method,
    string Model,
    long ModelParameters,
    long TrainableParameters,
    string FrozenDType,
    int Batch,
    int SeqLen,
    TimingSummary Step,
    double TokensPerSecond,
    double StepTflops,
    long PeakDeviceBytes,
    long PeakResidentBytes,
    IReadOnlyList<double> Losses,
    IReadOnlyList<OpTime> Breakdown,
    IReadOnlyList<OpTime> TopFunctions,
    long SteadyStateAllocations,
    BenchmarkEnvironment Environment)
{
    /// <summary>The result as one JSON object (camelCase).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BenchmarkJsonContext.Default.TrainBenchmarkResult);

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="JsonException">The text is not such a result.</exception>
    public static TrainBenchmarkResult FromJson(string json) =>
        JsonSerializer.Deserialize(json, BenchmarkJsonContext.Default.TrainBenchmarkResult)
        ?? throw new JsonException("The JSON document is null, not a training benchmark result.");
}
