using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// Sizes a machine cannot hold are refused before anything is allocated: one line with the estimate, the limit and
/// what to lower, exit code 1, no output folder. <c>--memory-limit</c> makes the limit the same on every machine.
/// </summary>
public sealed class MemoryEstimateCliTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    [Theory]
    [InlineData("--micro-batch", "100000", "lora", "--micro-batch")]
    [InlineData("--seq-len", "1000000000", "lora", "--seq-len")]
    [InlineData("--rank", "1000000", "lora", "--rank")]
    [InlineData("--experts", "65536", "mor", "--experts")]
    public void An_oversized_flag_is_refused_with_the_estimate_and_the_limit(string flag, string value, string method, string advice)
    {
        using var dir = new TempDirectory();
        string output = dir.File("out");
        string[] args = [.. Args(run, output, method), flag, value, "--memory-limit", "1G"];

        string line = BadInputAssert.EndsInOneLine(CliRunner.Run(args));

        Assert.Matches(@"needs about [\d,.]+ [GM]iB \(.+\) but only 1\.0 GiB is available \(--memory-limit\)", line);
        Assert.Contains(advice, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output), "nothing may be written for a refused run");
    }

    /// <summary>Without --memory-limit the machine's own limit applies; a billion-token row exceeds every machine's.</summary>
    [Fact]
    public void Without_a_limit_the_free_memory_of_the_machine_is_the_limit()
    {
        using var dir = new TempDirectory();
        string line = BadInputAssert.EndsInOneLine(CliRunner.Run([.. Args(run, dir.File("out"), "lora"), "--seq-len", "1000000000"]));
        Assert.Matches("is available \\((MemAvailable in /proc/meminfo|the cgroup v[12] limit .+|the physical memory the runtime reports)\\)", line);
        Assert.Contains("--seq-len", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_run_within_the_limit_trains()
    {
        using var dir = new TempDirectory();
        (int code, _, string err) = CliRunner.Run([.. Args(run, dir.File("out"), "mor"), "--memory-limit", "1G"]);
        Assert.True(code == ExitCodes.Ok, err);
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("-1G")]
    [InlineData("0")]
    public void A_malformed_memory_limit_is_a_usage_error(string value)
    {
        using var dir = new TempDirectory();
        string line = BadInputAssert.OneLine(CliRunner.Run([.. Args(run, dir.File("out"), "lora"), "--memory-limit", value]), ExitCodes.UsageError);
        Assert.Contains("--memory-limit", line, StringComparison.Ordinal);
    }

    private static string[] Args(TrainedRunFixture run, string output, string method) =>
        ["finetune", "--model", run.Model, "--data", run.Data, "--output", output, "--method", method, "--steps", "1", "--val-split", "0"];
}
