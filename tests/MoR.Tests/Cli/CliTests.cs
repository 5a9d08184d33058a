using System.Text.Json;
using MoR.Cli;
using MoR.IO;
using MoR.Model;
using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Cli;

/// <summary>Every <c>mor</c> command end to end, in-process: exit codes, stdout results, one-line usage errors.</summary>
[Collection("Quickstart")]
public sealed class CliTests
{
    [Theory]
    [InlineData("--bogus")]
    [InlineData("selftest", "--bogus")]
    [InlineData("selftest", "--device", "gpu")]
    [InlineData("finetune", "--method", "adamw")]
    [InlineData("finetune", "--model", "x")]
    [InlineData("finetune", "--model", "x", "--data", "y", "--rank", "0")]
    [InlineData("finetune", "--steps", "abc")]
    [InlineData("inspect")]
    [InlineData("nosuchcommand")]
    public void Bad_command_lines_exit_2_with_one_line_on_stderr(params string[] args)
    {
        (int code, string output, string err) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal(string.Empty, output);
        string[] lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("mor: usage error: ", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Selftest_passes_on_the_cpu()
    {
        (int code, string output, _) = CliRunner.Run("selftest", "--json");
        Assert.Equal(ExitCodes.Ok, code);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal("cpu", doc.RootElement.GetProperty("device").GetString());
        Assert.True(doc.RootElement.GetProperty("gradient_checks").GetArrayLength() >= 12);
    }

    [Fact]
    public void Finetune_writes_adapter_metrics_plot_config_and_resumes()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir.Path);
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 40).Select(i => $"{{\"prompt\":\"copy: w{i % 7}\\n\",\"completion\":\"w{i % 7}\"}}"));
        string output = dir.File("out");
        string[] common = ["finetune", "--model", model, "--data", data, "--output", output, "--method", "lora", "--rank", "4",
                           "--steps", "6", "--micro-batch", "2", "--seq-len", "32", "--lr", "1e-2", "--save-every", "2"];
        (int code, string stdout, string stderr) = CliRunner.Run([.. common, "--json"]);
        Assert.True(code == ExitCodes.Ok, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => JsonDocument.Parse(l).Dispose());  // --json: every stdout line is one JSON object
        Assert.Equal(6, lines.Count(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains("\"type\":\"result\"", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_model.safetensors")));
        Assert.True(new FileInfo(Path.Combine(output, "loss.png")).Length > 1000);
        Assert.True(File.Exists(Path.Combine(output, "training_config.json")));
        Assert.Equal(6, File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Count(l => l.Contains("\"step\"", StringComparison.Ordinal) && l.Contains("\"type\":\"step\"", StringComparison.Ordinal)));

        // Resume of a finished run: continues from step 6 to the new --steps.
        (code, stdout, stderr) = CliRunner.Run([.. common.Select(a => a == "6" ? "8" : a), "--resume"]);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("resumed from", stderr, StringComparison.Ordinal);
        Assert.Contains("trained 8 steps", stdout, StringComparison.Ordinal);

        // inspect reads the adapter folder.
        (code, stdout, _) = CliRunner.Run("inspect", Path.Combine(output, "adapter"));
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", stdout, StringComparison.Ordinal);
        Assert.Contains("adapter_config.json", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Finetune_reports_a_bad_data_line_with_exit_1()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir.Path);
        string data = dir.File("bad.jsonl");
        File.WriteAllText(data, "{\"text\":\"ok\"}\n{\"oops\":1}\n");
        (int code, _, string err) = CliRunner.Run("finetune", "--model", model, "--data", data, "--output", dir.File("o"));
        Assert.Equal(ExitCodes.RuntimeError, code);
        Assert.Contains($"{data}:2:", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Quickstart_runs_end_to_end_with_a_tiny_recipe_and_reuses_its_cached_base()
    {
        using var dir = new TempDirectory();
        Quickstart.Recipe saved = Quickstart.Current;
        Quickstart.CacheOverride = dir.File("cache");
        Quickstart.Current = new Quickstart.Recipe(PretrainSteps: 3, FinetuneSteps: 2, ExamplesPerTask: 20, MicroBatch: 2);
        try
        {
            (int code, string output, string err) = CliRunner.Run("finetune", "--output", dir.File("qs"));
            Assert.True(code == ExitCodes.Ok, err);
            Assert.Contains("pretraining the base model", err, StringComparison.Ordinal);
            Assert.Contains("exact-match accuracy", output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir.File("qs"), "adapter", "adapter_config.json")));
            Assert.True(new FileInfo(Path.Combine(dir.File("qs"), "loss.png")).Length > 1000);
            Assert.Contains("loss plot: ", output, StringComparison.Ordinal);

            // One line per task of the quickstart with its kind and both accuracies (before, after).
            foreach (string task in (string[])["caesar", "chain", "copy", "arith"])
            {
                string kind = Quickstart.HeldOutTasks.Contains(task) ? "held-out" : "pretrain";
                Assert.Matches($@"(?m)^  {task} +{kind} +\d+ % +\d+ %$", output);
            }

            (code, _, err) = CliRunner.Run("finetune", "--output", dir.File("qs2"));
            Assert.True(code == ExitCodes.Ok, err);
            Assert.Contains("using the cached base model", err, StringComparison.Ordinal);
        }
        finally
        {
            Quickstart.Current = saved;
            Quickstart.CacheOverride = null;
        }
    }

    internal static string TinyModel(string root)
    {
        string dir = Path.Combine(root, "base");
        var config = new LlamaConfig
        {
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 1,
            NumAttentionHeads = 2,
            VocabSize = ByteTokenizer.Instance.VocabSize,
            MaxPositionEmbeddings = 128,
            BosTokenId = ByteTokenizer.Bos,
            EosTokenIds = [ByteTokenizer.Eos],
        };
        using LlamaModel m = LlamaModel.CreateRandom(config, Device.Cpu, seed: 3, trainable: false);
        m.Save(dir, DType.F32);
        ByteTokenizer.Save(dir);
        return dir;
    }
}
