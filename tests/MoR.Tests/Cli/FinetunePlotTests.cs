using System.Text.Json;
using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// The loss plot is reported only when it was written: a plot that fails costs one warning line on stderr, never the
/// finished run, and neither the text output nor the --json result names a file that is not there.
/// </summary>
public sealed class FinetunePlotTests
{
    [Fact]
    public void A_plot_that_cannot_be_written_is_one_warning_and_is_not_claimed()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 12).Select(i => $"{{\"text\":\"w{i % 5} w{i % 5}\"}}"));
        string output = dir.File("out");
        // A folder where the PNG goes: the plot's final rename fails, as a sharing violation or a read-only disk would.
        Directory.CreateDirectory(Path.Combine(output, "loss.png"));
        string[] args = ["finetune", "--model", model, "--data", data, "--output", output, "--method", "lora", "--rank", "2",
                         "--steps", "2", "--micro-batch", "2", "--seq-len", "16", "--save-every", "1"];

        (int code, string stdout, string stderr) = CliRunner.Run(args);

        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("warning: the loss plot was not written (", StringComparison.Ordinal));
        Assert.DoesNotContain("loss plot:", stdout, StringComparison.Ordinal);
        Assert.Contains("adapter: ", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_model.safetensors")));
        Assert.Empty(Directory.GetFiles(output, "*.tmp*"));

        (code, stdout, stderr) = CliRunner.Run([.. args, "--json"]);

        Assert.True(code == ExitCodes.Ok, stderr);
        string result = stdout.Split('\n').Single(l => l.Contains("\"type\":\"result\"", StringComparison.Ordinal));
        using JsonDocument doc = JsonDocument.Parse(result);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("loss_plot").ValueKind);
        Assert.Equal(Path.Combine(output, "metrics.jsonl"), doc.RootElement.GetProperty("metrics").GetString());
    }

    [Fact]
    public void A_written_plot_is_claimed_by_its_path()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 12).Select(i => $"{{\"text\":\"w{i % 5} w{i % 5}\"}}"));
        string output = dir.File("out");

        (int code, string stdout, string stderr) = CliRunner.Run(
            "finetune", "--model", model, "--data", data, "--output", output, "--method", "lora", "--rank", "2",
            "--steps", "2", "--micro-batch", "2", "--seq-len", "16", "--json");

        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.DoesNotContain("warning:", stderr, StringComparison.Ordinal);
        string result = stdout.Split('\n').Single(l => l.Contains("\"type\":\"result\"", StringComparison.Ordinal));
        using JsonDocument doc = JsonDocument.Parse(result);
        string png = doc.RootElement.GetProperty("loss_plot").GetString()!;
        Assert.Equal(Path.Combine(output, "loss.png"), png);
        Assert.True(new FileInfo(png).Length > 1000);
    }
}
