using System.Text.Json;
using MoR.Benchmarks;
using MoR.Cli;

namespace MoR.Tests.Cli;

/// <summary><c>mor bench</c> on tiny sizes (compiled only with the MoR.Benchmarks API): reports parse, no timing is asserted.</summary>
[Collection("Quickstart")]
public sealed class BenchCommandTests
{
    [Fact]
    public void Bench_layer_json_is_a_layer_report_for_every_method()
    {
        (int code, string stdout, string stderr) = CliRunner.Run(
            "bench", "layer", "--tokens", "8", "--d-in", "16", "--d-out", "24", "--experts", "2", "--rank", "2", "--iters", "1", "--warmup", "0", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        LayerBenchmarkReport report = LayerBenchmarkReport.FromJson(stdout.Trim());
        Assert.Equal(8, report.Options.T);
        Assert.Equal(Enum.GetValues<LayerMethod>().Length, report.Results.Count);

        (code, stdout, _) = CliRunner.Run("bench", "layer", "--tokens", "4", "--d-in", "8", "--d-out", "8", "--experts", "2", "--rank", "2", "--iters", "1");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("MoR", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_gemm_json_has_one_result_per_shape_and_dtype()
    {
        (int code, string stdout, string stderr) = CliRunner.Run(
            "bench", "gemm", "--shape", "4x8x16", "--shape", "2x4x4", "--dtype", "f32", "--iters", "1", "--warmup", "0", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        GemmBenchmarkReport report = GemmBenchmarkReport.FromJson(stdout.Trim());
        Assert.Equal([new GemmShape(4, 8, 16), new GemmShape(2, 4, 4)], report.Results.Select(r => r.Shape));
        Assert.All(report.Results, r => Assert.Equal(DType.F32, r.WeightDType));
    }

    [Theory]
    [InlineData("bench", "layer", "--rank", "0")]
    [InlineData("bench", "layer", "--iters", "x")]
    [InlineData("bench", "gemm", "--shape", "4x8")]
    [InlineData("bench", "gemm", "--dtype", "f16")]
    [InlineData("bench", "gemm", "--iters", "0")]
    [InlineData("bench", "nosuch")]
    public void Bad_bench_flags_exit_2_with_one_line(params string[] args)
    {
        (int code, string stdout, string stderr) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith("mor: usage error: ", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }
}
