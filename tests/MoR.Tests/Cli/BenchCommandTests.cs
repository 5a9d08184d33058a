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
        Assert.Equal(LayerBenchmarkSession.Methods, report.Results.Select(r => r.Method));

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

    [Fact]
    public void Bench_train_writes_the_random_model_then_reports_one_json_line_per_method()
    {
        using var dir = new MoR.Tests.IO.TempDirectory();
        string modelDir = Path.Combine(dir.Path, "tiny");
        (int code, string stdout, string stderr) = CliRunner.Run(
            "bench", "train", "--preset", "tiny", "--write-model", modelDir, "--method", "lora", "--method", "mor", "--batch", "1", "--seq-len", "8",
            "--steps", "1", "--warmup", "0", "--rank", "2", "--experts", "2", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        TrainBenchmarkResult[] results = [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(TrainBenchmarkResult.FromJson)];
        Assert.Equal(["lora", "mor"], results.Select(r => r.Method));
        Assert.All(results, r => Assert.Equal(modelDir, r.Model));
        Assert.True(results[1].TrainableParameters > results[0].TrainableParameters);
        // Both methods start from the written weights and the same tokens: the same first loss (B = 0 in both).
        Assert.Equal(results[0].Losses[0], results[1].Losses[0], 5);
        using var model = MoR.Model.LlamaModel.Load(modelDir, Device.Cpu);
        Assert.Equal(results[0].ModelParameters, TrainBenchmark.ParameterCount(model.Config));

        (code, stdout, stderr) = CliRunner.Run("bench", "train", "--preset", "tiny", "--method", "full", "--seq-len", "8", "--steps", "1", "--warmup", "0");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("full", stdout, StringComparison.Ordinal);
        Assert.Contains("optimizer", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_train_on_a_jsonl_batch_starts_from_the_loss_mor_eval_reports_for_it()
    {
        using var dir = new MoR.Tests.IO.TempDirectory();
        string modelDir = Path.Combine(dir.Path, "tiny"), data = Path.Combine(dir.Path, "batch.jsonl");
        var rng = new Random(4);
        File.WriteAllLines(data, Enumerable.Range(0, 2).Select(_ =>
        {
            int[] ids = [.. Enumerable.Range(0, 12).Select(_ => rng.Next(256))];
            int[] labels = [.. ids.Select((id, i) => i < 3 ? -100 : id)]; // a masked prompt
            return JsonSerializer.Serialize(new Dictionary<string, int[]> { ["input_ids"] = ids, ["labels"] = labels });
        }));
        (int code, string stdout, string stderr) = CliRunner.Run(
            "bench", "train", "--preset", "tiny", "--write-model", modelDir, "--method", "lora", "--batch", "2", "--seq-len", "12",
            "--steps", "1", "--warmup", "0", "--data", data, "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        TrainBenchmarkResult result = TrainBenchmarkResult.FromJson(stdout.Trim());

        (code, stdout, stderr) = CliRunner.Run("eval", "--model", modelDir, "--data", data, "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument eval = JsonDocument.Parse(stdout.Trim());
        Assert.Equal(eval.RootElement.GetProperty("mean_nll").GetDouble(), result.Losses[0], 5);

        (code, _, stderr) = CliRunner.Run("bench", "train", "--model", modelDir, "--batch", "3", "--seq-len", "12", "--data", data);
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Contains("2 rows, but the batch needs 3", stderr, StringComparison.Ordinal);
        (code, _, stderr) = CliRunner.Run("bench", "train", "--model", modelDir, "--batch", "2", "--seq-len", "10", "--data", data);
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Contains("12 tokens, but the sequence length is 10", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_model_reports_loading_evaluation_and_generation_of_a_checkpoint()
    {
        using var dir = new MoR.Tests.IO.TempDirectory();
        string modelDir = Path.Combine(dir.Path, "tiny");
        using (var model = MoR.Model.LlamaModel.CreateRandom(ModelPreset.Get("tiny"), Device.Cpu, seed: 1, trainable: false, DType.BF16))
        {
            model.Save(modelDir, DType.BF16);
        }

        (int code, string stdout, string stderr) = CliRunner.Run(
            "bench", "model", "--model", modelDir, "--seq-len", "16", "--passes", "1", "--prompt-tokens", "4", "--new-tokens", "5", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        using JsonDocument doc = JsonDocument.Parse(stdout.Trim());
        JsonElement r = doc.RootElement;
        Assert.Equal(new FileInfo(Path.Combine(modelDir, "model.safetensors")).Length, r.GetProperty("fileBytes").GetInt64());
        Assert.Equal(TrainBenchmark.ParameterCount(ModelPreset.Get("tiny")), r.GetProperty("modelParameters").GetInt64());
        Assert.Equal(16, r.GetProperty("evalTokens").GetInt32());
        Assert.Equal(5, r.GetProperty("generatedTokens").GetInt32()); // no stop token: exactly --new-tokens
        Assert.True(r.GetProperty("loadSeconds").GetDouble() > 0 && r.GetProperty("evalTokensPerSecond").GetDouble() > 0);
        // Both are read from VmHWM. The peak after loading cannot be held to be at least the value before it here: other
        // tests of this process free memory in between with madvise, which lowers the RSS without raising the kernel's
        // high-water mark, so only a separate `mor bench model` process can compare the two.
        Assert.True(r.GetProperty("residentBeforeLoadBytes").GetInt64() > 0 && r.GetProperty("peakResidentAfterLoadBytes").GetInt64() > 0);

        (code, stdout, _) = CliRunner.Run("bench", "model", "--model", modelDir, "--seq-len", "16", "--passes", "1", "--new-tokens", "2");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("generation", stdout, StringComparison.Ordinal);

        (code, _, stderr) = CliRunner.Run("bench", "model", "--model", Path.Combine(dir.Path, "missing"));
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bench", "model")]
    [InlineData("bench", "model", "--model", "x", "--prompt-tokens", "300")]
    [InlineData("bench", "train", "--preset", "nosuch")]
    [InlineData("bench", "train", "--method", "bogus")]
    [InlineData("bench", "train", "--steps", "0")]
    [InlineData("bench", "train", "--seq-len", "1")]
    [InlineData("bench", "train", "--model", "x", "--write-model", "y")]
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
