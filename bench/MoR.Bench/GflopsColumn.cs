using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace MoR.Bench;

/// <summary>
/// A BenchmarkDotNet column of throughput: the case's FLOPs (given by the benchmark class) over its median
/// time, in GFLOP/s.
/// </summary>
internal sealed class GflopsColumn(Func<BenchmarkCase, double?> flopsOf) : IColumn
{
    public string Id => nameof(GflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "FLOPs per operation / median time, in 10^9 FLOP/s";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? flops = flopsOf(benchmarkCase);
        double? medianNs = summary[benchmarkCase]?.ResultStatistics?.Median;
        return flops is null || medianNs is null or <= 0
            ? "-"
            : (flops.Value / medianNs.Value).ToString("F1", CultureInfo.InvariantCulture);  // FLOP/ns = GFLOP/s
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
