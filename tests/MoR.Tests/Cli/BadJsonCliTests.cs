using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// Invalid JSON in any file a command reads — config.json, adapter_config.json, trainer_state.json,
/// tokenizer_config.json — ends every command in one line naming the file (and its line and byte), exit code 1,
/// never an unhandled JsonException, and leaves every file as it was.
/// </summary>
public sealed class BadJsonCliTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    public static TheoryData<string, string> Corruptions()
    {
        var data = new TheoryData<string, string>();
        foreach (string file in (string[])["config.json", "adapter_config.json", "trainer_state.json"])
        {
            foreach (string how in (string[])["truncated", "empty", "trailing comma", "comment", "NaN"])
            {
                data.Add(file, how);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Inspect_names_the_invalid_file(string file, string how)
    {
        using var dir = new TempDirectory();
        string folder = file switch
        {
            "config.json" => TrainedRunFixture.Copy(run.Model, dir.File("model")),
            "adapter_config.json" => TrainedRunFixture.Copy(run.Adapter, dir.File("adapter")),
            _ => TrainedRunFixture.Copy(Path.Combine(run.Run, "checkpoints", "checkpoint-00000004"), dir.File("checkpoint")),
        };
        Corrupt(Path.Combine(folder, file), how);
        Dictionary<string, string> before = BadInputAssert.Snapshot(dir.Path);

        string line = BadInputAssert.OneLine(CliRunner.Run("inspect", folder));

        Assert.Contains(Path.Combine(folder, file), line, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", line, StringComparison.Ordinal);
        if (how != "empty")
        {
            Assert.Matches(@"at line \d+, byte \d+", line);
        }

        BadInputAssert.Unchanged(before, dir.Path);
    }

    /// <summary>Every command that reads a model folder, with its config.json broken.</summary>
    [Theory]
    [InlineData("eval")]
    [InlineData("generate")]
    [InlineData("chat")]
    [InlineData("merge")]
    [InlineData("finetune")]
    [InlineData("bench")]
    public void Every_command_names_an_invalid_config_json(string command)
    {
        using var dir = new TempDirectory();
        string model = TrainedRunFixture.Copy(run.Model, dir.File("model"));
        Corrupt(Path.Combine(model, "config.json"), "trailing comma");
        Dictionary<string, string> before = BadInputAssert.Snapshot(dir.Path);

        string[] args = ModelCommand(command, model, run.Data, dir.File("out"));
        string line = BadInputAssert.EndsInOneLine(CliRunner.RunWithInput("hello\n", command == "merge" ? [.. args, "--adapter", run.Adapter] : args));

        Assert.Contains("config.json", line, StringComparison.Ordinal);
        Assert.Contains("line ", line, StringComparison.Ordinal);
        BadInputAssert.Unchanged(before, dir.Path);
    }

    /// <summary>Every command that reads an adapter folder, with its adapter_config.json broken.</summary>
    [Theory]
    [InlineData("eval", "comment")]
    [InlineData("generate", "NaN")]
    [InlineData("chat", "truncated")]
    [InlineData("merge", "empty")]
    public void Every_command_names_an_invalid_adapter_config(string command, string how)
    {
        using var dir = new TempDirectory();
        string adapter = TrainedRunFixture.Copy(run.Adapter, dir.File("adapter"));
        Corrupt(Path.Combine(adapter, "adapter_config.json"), how);
        Dictionary<string, string> before = BadInputAssert.Snapshot(dir.Path);

        string line = BadInputAssert.OneLine(CliRunner.RunWithInput("hello\n", [.. ModelCommand(command, run.Model, run.Data, dir.File("out")), "--adapter", adapter]));

        Assert.Contains(Path.Combine(adapter, "adapter_config.json"), line, StringComparison.Ordinal);
        BadInputAssert.Unchanged(before, dir.Path);
    }

    [Fact]
    public void An_invalid_tokenizer_config_is_named()
    {
        using var dir = new TempDirectory();
        string model = TrainedRunFixture.Copy(run.Model, dir.File("model"));
        Corrupt(Path.Combine(model, "tokenizer_config.json"), "comment");
        string text = dir.File("text.jsonl");
        File.WriteAllText(text, "{\"text\":\"hello\"}\n");

        string line = BadInputAssert.OneLine(CliRunner.Run("eval", "--model", model, "--data", text));

        Assert.Contains("tokenizer_config.json", line, StringComparison.Ordinal);
    }

    /// <summary>The five ways the issue broke these files.</summary>
    internal static void Corrupt(string path, string how)
    {
        string valid = File.ReadAllText(path).TrimEnd();
        Assert.EndsWith("}", valid, StringComparison.Ordinal);
        File.WriteAllText(path, how switch
        {
            "truncated" => valid[..(valid.Length / 2)],
            "empty" => string.Empty,
            "trailing comma" => valid[..^1] + ",}",
            "comment" => "// written by hand\n" + valid,
            "NaN" => valid[..^1] + ", \"added_by_test\": NaN}",
            _ => throw new ArgumentOutOfRangeException(nameof(how), how, null),
        });
    }

    private static string[] ModelCommand(string command, string model, string data, string output) => command switch
    {
        "eval" => ["eval", "--model", model, "--data", data],
        "generate" => ["generate", "--model", model, "--prompt", "copy: w1"],
        "chat" => ["chat", "--model", model],
        "merge" => ["merge", "--model", model, "--output", output],
        "finetune" => TrainedRunFixture.FinetuneArgs(model, data, output),
        "bench" => ["bench", "model", "--model", model],
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, null),
    };
}
