using System.Globalization;
using System.Text;

namespace MoR.Benchmarks;

/// <summary>Plain-text tables of benchmark reports, for terminals and notes (invariant culture, fixed-width columns).</summary>
public static class BenchmarkTable
{
    /// <summary>One row per shape and weight type: median and best time, and the throughput at each.</summary>
    public static string Format(GemmBenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        AppendEnvironment(text, report.Environment);
        int iterations = report.Results.Count > 0 ? report.Results[0].Timing.Iterations : 0;
        Line(text, $"# GEMM y = x·Wᵀ (x [M,K] F32, W [N,K]); {iterations} timed calls after {report.Warmup} warm-up");
        Line(text, $"{"M x K x N",-18} {"W",-5} {"median ms",10} {"min ms",10} {"GFLOP/s",9} {"best",9}");
        foreach (GemmResult r in report.Results)
        {
            Line(text, $"{r.Shape,-18} {r.WeightDType,-5} {r.Timing.MedianMs,10:F3} {r.Timing.MinMs,10:F3} {r.GflopsAtMedian,9:F1} {r.GflopsAtBest,9:F1}");
        }

        return text.ToString();
    }

    /// <summary>One row per method: median and best fwd+bwd time, overhead over the base, and the FLOP floor of that overhead.</summary>
    public static string Format(LayerBenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        LayerBenchmarkOptions o = report.Options;
        var text = new StringBuilder();
        AppendEnvironment(text, report.Environment);
        Line(text, $"# layer fwd+bwd: T={o.T} d_in={o.DIn} d_out={o.DOut} N={o.N} r={o.R}, base {o.BaseDType}; {o.Iterations} timed iterations after {o.Warmup} warm-up");
        Line(text, $"{"method",-16} {"median ms",10} {"min ms",10} {"overhead",9} {"FLOP floor",10} {"GFLOP/s",9}");
        foreach (LayerResult r in report.Results)
        {
            string overhead = r.Method == LayerBenchmarkOptions.Base ? "-" : Percent(r.OverheadPercent);
            string floor = r.Method == LayerBenchmarkOptions.Base ? "-" : Percent(r.FlopFloorPercent);
            Line(text, $"{Describe(r.Method),-16} {r.Timing.MedianMs,10:F2} {r.Timing.MinMs,10:F2} {overhead,9} {floor,10} {r.Gflops,9:F1}");
        }

        return text.ToString();
    }

    /// <summary>How a method reads in a table: <c>frozen base</c>, <c>base + MoR</c>, ….</summary>
    public static string Describe(string method) =>
        method == LayerBenchmarkOptions.Base ? "frozen base" : $"base + {MoR.Adapters.AdapterMethods.Find(method)?.DisplayName ?? method}";

    /// <summary>A signed percentage with one decimal, e.g. <c>+9.9%</c>.</summary>
    public static string Percent(double value) => string.Create(CultureInfo.InvariantCulture, $"{value:+0.0;-0.0;0.0}%");

    internal static void AppendEnvironment(StringBuilder text, BenchmarkEnvironment e) =>
        Line(text, $"# {e.Device} ({e.ProcessorName ?? e.DeviceName}, {e.LogicalProcessors} logical processors{LoadText(e)}); {e.NativeBuild}; {e.Runtime}");

    /// <summary><c>, load average 3.2 at start</c> when known; above the processor count, the run was competing for cores.</summary>
    public static string LoadText(BenchmarkEnvironment e) =>
        e.LoadAverage is double load ? string.Create(CultureInfo.InvariantCulture, $", load average {load:F1} at start") : string.Empty;

    internal static void Line(StringBuilder text, FormattableString line) =>
        text.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
