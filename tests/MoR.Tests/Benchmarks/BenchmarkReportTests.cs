using System.Text.Json;
using MoR.Benchmarks;

namespace MoR.Tests.Benchmarks;

/// <summary>The reports' JSON (what <c>mor bench --json</c> prints) and text tables.</summary>
public sealed class BenchmarkReportTests
{
    private static readonly BenchmarkEnvironment Environment = new(
        "cpu", "cpu", "Test CPU", 2, "Linux", ".NET 10.0", "mor 0.1.0; abi 1; cpu: openblas", new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), 3.5);

    private static readonly GemmBenchmarkReport Gemm = new(
        Environment,
        Warmup: 1,
        [
            new(new GemmShape(512, 4096, 11008), DType.F32, new TimingSummary(5, 200.5, 210.25, 250)),
            new(new GemmShape(512, 4096, 11008), DType.BF16, new TimingSummary(5, 150, 160, 170.125)),
        ]);

    private static readonly LayerBenchmarkReport Layer = new(
        Environment,
        new LayerBenchmarkOptions(BaseDType: DType.BF16, Iterations: 7),
        [
            new("base", new TimingSummary(7, 400, 410, 430), 0, 0, 220),
            new("lora", new TimingSummary(7, 410, 420, 440), 2.4, 1.1, 216),
            new("moe-lora", new TimingSummary(7, 460, 470, 480), 14.6, 13.0, 210),
            new("mor", new TimingSummary(7, 440, 450, 460), 9.75, 9.92, 215),
        ]);

    [Fact]
    public void GemmReportRoundTripsThroughJson()
    {
        string json = Gemm.ToJson();
        GemmBenchmarkReport back = GemmBenchmarkReport.FromJson(json);

        Assert.Equal(Gemm.Environment, back.Environment);
        Assert.Equal(Gemm.Warmup, back.Warmup);
        Assert.Equal(Gemm.Results, back.Results);
        Assert.Equal(json, back.ToJson());
    }

    [Fact]
    public void LayerReportRoundTripsThroughJson()
    {
        string json = Layer.ToJson();
        LayerBenchmarkReport back = LayerBenchmarkReport.FromJson(json);

        Assert.Equal(Layer.Environment, back.Environment);
        Assert.Equal(Layer.Options, back.Options);
        Assert.Equal(Layer.Results, back.Results);
        Assert.Equal(json, back.ToJson());
    }

    [Fact]
    public void JsonNamesAreCamelCaseAndEnumsAreText()
    {
        using JsonDocument layer = JsonDocument.Parse(Layer.ToJson());
        JsonElement mor = layer.RootElement.GetProperty("results")[3];
        Assert.Equal("mor", mor.GetProperty("method").GetString());
        Assert.Equal(450, mor.GetProperty("timing").GetProperty("medianMs").GetDouble());
        Assert.Equal("BF16", layer.RootElement.GetProperty("options").GetProperty("baseDType").GetString());

        using JsonDocument gemm = JsonDocument.Parse(Gemm.ToJson());
        JsonElement first = gemm.RootElement.GetProperty("results")[0];
        Assert.Equal(11008, first.GetProperty("shape").GetProperty("n").GetInt32());
        // Derived throughput is written for readers of the file (and ignored when read back).
        Assert.Equal(first.GetProperty("gflopsAtMedian").GetDouble(), Gemm.Results[0].GflopsAtMedian, precision: 6);
    }

    [Fact]
    public void NullJsonIsRejected()
    {
        Assert.Throws<JsonException>(() => GemmBenchmarkReport.FromJson("null"));
        Assert.Throws<JsonException>(() => LayerBenchmarkReport.FromJson("null"));
    }

    [Fact]
    public void TablesHaveOneRowPerResult()
    {
        string gemm = BenchmarkTable.Format(Gemm);
        Assert.Contains("512x4096x11008     F32", gemm);
        Assert.Contains("Test CPU, 2 logical processors, load average 3.5 at start", gemm);

        string layer = BenchmarkTable.Format(Layer);
        string[] lines = layer.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3 + 4, lines.Length);
        Assert.StartsWith("base + MoR", lines[^1]);
        Assert.Contains("+9.8%", lines[^1]);
        Assert.Contains("+9.9%", lines[^1]);
    }
}
