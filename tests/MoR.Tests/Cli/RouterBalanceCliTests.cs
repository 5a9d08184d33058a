using System.Text.Json;
using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary><c>mor finetune --router-balance-loss</c> end to end: the value reaches metrics.jsonl; bad values are usage errors.</summary>
[Collection("Quickstart")]
public sealed class RouterBalanceCliTests
{
    [Fact]
    public void Finetune_with_a_router_balance_loss_logs_it_per_step()
    {
        using var dir = new TempDirectory();
        string model = CliTests.TinyModel(dir.Path);
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 30).Select(i => $"{{\"prompt\":\"copy: w{i % 5}\\n\",\"completion\":\"w{i % 5}\"}}"));
        string output = dir.File("out");
        (int code, _, string stderr) = CliRunner.Run(
            "finetune", "--model", model, "--data", data, "--output", output, "--method", "mor", "--rank", "2", "--experts", "3",
            "--steps", "3", "--micro-batch", "2", "--seq-len", "32", "--router-balance-loss", "0.01", "--json");
        Assert.True(code == ExitCodes.Ok, stderr);
        string[] steps = [.. File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Where(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal))];
        Assert.Equal(3, steps.Length);
        // N(0, 0.02²) routers start near uniform gates, where the term is its coefficient.
        Assert.All(steps, l => Assert.InRange(JsonDocument.Parse(l).RootElement.GetProperty("router_balance_loss").GetDouble(), 0.0099, 0.0106));
        Assert.Contains("\"router_balance_loss\"", File.ReadAllText(Path.Combine(output, "training_config.json")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mor", "-1", "router balance loss must be a number >= 0; got -1.")]
    [InlineData("lora", "0.01", "--router-balance-loss does not apply to --method lora; it is a flag of moe-lora, mor.")]
    public void Bad_router_balance_loss_is_a_one_line_usage_error(string method, string value, string message)
    {
        (int code, string stdout, string stderr) = CliRunner.Run("finetune", "--model", "x", "--data", "y", "--method", method, "--router-balance-loss", value);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal(string.Empty, stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mor: usage error: " + message, line, StringComparison.Ordinal);
    }
}
