using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// <c>mor finetune --resume</c> with a damaged newest checkpoint resumes from the newest readable one and says which
/// and why; with none readable it stops in one line and writes nothing.
/// </summary>
public sealed class ResumeFallbackCliTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    [Theory]
    [InlineData("truncated")]
    [InlineData("empty")]
    [InlineData("trailing comma")]
    [InlineData("comment")]
    [InlineData("NaN")]
    public void A_corrupt_newest_trainer_state_falls_back_to_the_older_checkpoint(string how)
    {
        using var dir = new TempDirectory();
        string output = TrainedRunFixture.Copy(run.Run, dir.File("run"));
        string newest = Path.Combine(output, "checkpoints", "checkpoint-00000004");
        BadJsonCliTests.Corrupt(Path.Combine(newest, "trainer_state.json"), how);

        (int code, string stdout, string err) = CliRunner.Run([.. TrainedRunFixture.FinetuneArgs(run.Model, run.Data, output), "--steps", "6", "--resume"]);

        Assert.True(code == ExitCodes.Ok, err);
        string[] lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string skip = Assert.Single(lines, l => l.StartsWith("warning: skipped checkpoint", StringComparison.Ordinal));
        Assert.Contains(newest, skip, StringComparison.Ordinal);
        Assert.Contains("trainer_state.json", skip, StringComparison.Ordinal);
        string resumed = Assert.Single(lines, l => l.StartsWith("resumed from", StringComparison.Ordinal));
        Assert.Contains("checkpoint-00000002 at step 2", resumed, StringComparison.Ordinal);
        Assert.Contains("trained 6 steps", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    /// <summary>The resumed run continues exactly as the uninterrupted one would have from step 2: same losses.</summary>
    [Fact]
    public void The_fallback_resume_continues_the_run_exactly()
    {
        using var dir = new TempDirectory();
        string output = TrainedRunFixture.Copy(run.Run, dir.File("run"));
        string[] reference = File.ReadAllLines(Path.Combine(run.Run, "metrics.jsonl"));
        File.WriteAllText(Path.Combine(output, "checkpoints", "checkpoint-00000004", "parameters.safetensors"), "garbage");

        (int code, _, string err) = CliRunner.Run([.. TrainedRunFixture.FinetuneArgs(run.Model, run.Data, output), "--steps", "4", "--resume"]);

        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("parameters.safetensors", err, StringComparison.Ordinal);
        string[] again = File.ReadAllLines(Path.Combine(output, "metrics.jsonl"));
        Assert.Equal(Losses(reference), Losses(again));
    }

    [Theory]
    [InlineData("trainer_state.json")]
    [InlineData("parameters.safetensors")]
    [InlineData("optimizer.safetensors")]
    public void With_no_readable_checkpoint_resume_stops_in_one_line_and_changes_nothing(string file)
    {
        using var dir = new TempDirectory();
        string output = TrainedRunFixture.Copy(run.Run, dir.File("run"));
        foreach (string checkpoint in Directory.GetDirectories(Path.Combine(output, "checkpoints")))
        {
            File.WriteAllText(Path.Combine(checkpoint, file), file.EndsWith(".json", StringComparison.Ordinal) ? "{\"step\": " : "not a safetensors file");
        }

        Dictionary<string, string> before = BadInputAssert.Snapshot(output);
        string line = BadInputAssert.EndsInOneLine(CliRunner.Run([.. TrainedRunFixture.FinetuneArgs(run.Model, run.Data, output), "--steps", "6", "--resume"]));

        Assert.Contains("No readable checkpoint", line, StringComparison.Ordinal);
        Assert.Contains("checkpoint-00000004", line, StringComparison.Ordinal);
        Assert.Contains("checkpoint-00000002", line, StringComparison.Ordinal);
        Assert.Contains(file, line, StringComparison.Ordinal);
        BadInputAssert.Unchanged(before, output);
    }

    [Fact]
    public void A_checkpoint_holding_NaN_is_skipped()
    {
        using var dir = new TempDirectory();
        string output = TrainedRunFixture.Copy(run.Run, dir.File("run"));
        string moments = Path.Combine(output, "checkpoints", "checkpoint-00000004", "optimizer.safetensors");
        byte[] bytes = File.ReadAllBytes(moments);
        BitConverter.GetBytes(float.NaN).CopyTo(bytes, bytes.Length - 4);  // the last value of the last moment
        File.WriteAllBytes(moments, bytes);

        (int code, _, string err) = CliRunner.Run([.. TrainedRunFixture.FinetuneArgs(run.Model, run.Data, output), "--steps", "6", "--resume"]);

        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("holds NaN", err, StringComparison.Ordinal);
        Assert.Contains("resumed from", err, StringComparison.Ordinal);
        Assert.Contains("checkpoint-00000002", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_of_other_settings_is_refused_without_falling_back()
    {
        using var dir = new TempDirectory();
        string output = TrainedRunFixture.Copy(run.Run, dir.File("run"));
        Dictionary<string, string> before = BadInputAssert.Snapshot(output);
        string[] args = [.. TrainedRunFixture.FinetuneArgs(run.Model, run.Data, output).Select(a => a == "4" ? "8" : a), "--steps", "6", "--resume"];

        string line = BadInputAssert.EndsInOneLine(CliRunner.Run(args));

        Assert.Contains("checkpoint-00000004", line, StringComparison.Ordinal);
        Assert.Contains("another method, rank or target modules", line, StringComparison.Ordinal);
        BadInputAssert.Unchanged(before, output);
    }

    private static string[] Losses(string[] metrics) =>
        [.. metrics.Where(l => l.Contains("\"type\":\"step\"", StringComparison.Ordinal)).Select(l => l[l.IndexOf("\"loss\":", StringComparison.Ordinal)..].Split(',')[0])];
}
