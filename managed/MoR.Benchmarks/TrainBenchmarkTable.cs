using System.Globalization;
using System.Text;

namespace MoR.Benchmarks;

/// <summary>The plain-text table of <c>mor bench train</c>: one row per method, then each method's op breakdown.</summary>
public static class TrainBenchmarkTable
{
    /// <summary>Formats <paramref name="results"/> (same model and shape); ratios are against the LoRA row when there is one.</summary>
    public static string Format(IReadOnlyList<TrainBenchmarkResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        if (results.Count == 0)
        {
            return string.Empty;
        }

        TrainBenchmarkResult first = results[0];
        BenchmarkTable.AppendEnvironment(text, first.Environment);
        BenchmarkTable.Line(text, $"# optimizer step (forward + backward + clip + AdamW): {first.Model}, {Mega(first.ModelParameters)} parameters, frozen {first.FrozenDType}, batch {first.Batch} x {first.SeqLen} tokens; {first.Step.Iterations} timed steps");
        BenchmarkTable.Line(text, $"{"method",-9} {"trainable",10} {"median ms",10} {"min ms",9} {"tokens/s",9} {"TFLOP/s",8} {"vs lora",8} {"peak dev",9} {"peak RSS",9} {"allocs",6}");
        TrainBenchmarkResult? lora = results.FirstOrDefault(r => r.Method == "lora");
        foreach (TrainBenchmarkResult r in results)
        {
            string ratio = lora is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"{r.Step.MedianMs / lora.Step.MedianMs:F3}x");
            BenchmarkTable.Line(text, $"{r.Method,-9} {Mega(r.TrainableParameters),10} {r.Step.MedianMs,10:F2} {r.Step.MinMs,9:F2} {r.TokensPerSecond,9:F0} {r.StepTflops,8:F3} {ratio,8} {MiB(r.PeakDeviceBytes),9} {MiB(r.PeakResidentBytes),9} {r.SteadyStateAllocations,6}");
        }

        foreach (TrainBenchmarkResult r in results.Where(r => r.Breakdown.Count > 0))
        {
            BenchmarkTable.Line(text, $"");
            BenchmarkTable.Line(text, $"# {r.Method}: profiled step {r.Breakdown.Sum(b => b.Ms):F1} ms ({(r.Environment.Device.StartsWith("cuda", StringComparison.Ordinal) ? "each call synchronised" : "calls are synchronous")})");
            foreach (OpTime op in r.Breakdown)
            {
                BenchmarkTable.Line(text, $"  {op.Name,-28} {op.Ms,9:F2} ms {op.Share * 100,6:F1} % {op.Calls,6} calls");
            }
        }

        return text.ToString();
    }

    /// <summary><c>30.7M</c>, <c>6.74B</c>, <c>1.3k</c>.</summary>
    public static string Mega(long count) => count switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e9:F2}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e6:F1}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e3:F1}k"),
        _ => count.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Bytes as MiB with no decimals.</summary>
    public static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):F0}M");
}
