using MoR.Cli;
using MoR.Tests.IO;

namespace MoR.Tests.Cli;

/// <summary>
/// Training and evaluation data that would be silently misread or train on nothing is refused: one line naming the
/// file (and FILE:LINE for a record), exit code 1, and no output folder.
/// </summary>
public sealed class BadDataCliTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    public static TheoryData<string, string, string> BadRecords() => new()
    {
        // name, the bad record (written as line 3), what the error must say
        { "duplicate key", """{"prompt":"a","completion":"b","prompt":"c"}""", "key \"prompt\" appears twice" },
        { "duplicate nested key", """{"messages":[{"role":"user","content":"a","content":"b"},{"role":"assistant","content":"c"}]}""", "messages[0].content" },
        { "text and input_ids", """{"text":"hello","input_ids":[1,2,3]}""", "mixes kinds" },
        { "prompt and messages", """{"prompt":"a","completion":"b","messages":[{"role":"user","content":"a"}]}""", "mixes kinds" },
        { "labels without input_ids", """{"labels":[1,2,3]}""", "\"labels\" needs \"input_ids\"" },
        { "label outside the vocabulary", """{"input_ids":[65,66,67],"labels":[65,999,-100]}""", "label 999" },
        { "negative label", """{"input_ids":[65,66,67],"labels":[65,-5,67]}""", "label -5" },
        { "input id outside the vocabulary", """{"input_ids":[65,261]}""", "token id 261" },
        { "chat without an assistant turn", """{"messages":[{"role":"user","content":"hello"}]}""", "no assistant turn" },
    };

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void Finetune_names_FILE_LINE_of_a_bad_record(string name, string record, string message)
    {
        using var dir = new TempDirectory();
        string data = dir.File($"{name.Replace(' ', '-')}.jsonl");
        File.WriteAllLines(data, ["""{"prompt":"copy: w1\n","completion":"w1"}""", string.Empty, record, """{"text":"after"}"""]);
        string output = dir.File("out");

        string line = BadInputAssert.EndsInOneLine(CliRunner.Run(Finetune(data, output)));

        Assert.Contains($"{data}:3: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Finetune_names_FILE_LINE_of_a_bad_record_in_eval_data()
    {
        using var dir = new TempDirectory();
        string eval = dir.File("eval.jsonl");
        File.WriteAllLines(eval, ["""{"text":"fine"}""", """{"input_ids":[65,66],"labels":[65,4096]}"""]);

        string line = BadInputAssert.EndsInOneLine(CliRunner.Run([.. Finetune(run.Data, dir.File("out")), "--eval-data", eval]));

        Assert.Contains($"{eval}:2: label 4096", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("every label -100", """{"input_ids":[65,66,67,68],"labels":[-100,-100,-100,-100]}""")]
    [InlineData("chats without an assistant turn", """{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}""")]
    public void Finetune_refuses_data_with_no_token_to_train_on(string name, string record)
    {
        using var dir = new TempDirectory();
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, Enumerable.Repeat(record, 10));
        string output = dir.File("out");

        string line = BadInputAssert.EndsInOneLine(CliRunner.Run(Finetune(data, output)));

        Assert.Contains(data, line, StringComparison.Ordinal);
        Assert.Contains(name == "every label -100" ? "nothing to train on" : "no assistant turn", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output), "no adapter may be written for a run that trains on nothing");
    }

    [Fact]
    public void Finetune_refuses_rows_whose_loss_tokens_were_all_truncated_away()
    {
        using var dir = new TempDirectory();
        string data = dir.File("data.jsonl");
        // The answer starts after 40 prompt tokens; rows of 8 tokens keep none of it.
        File.WriteAllLines(data, Enumerable.Repeat("""{"prompt":"0123456789012345678901234567890123456789","completion":"x"}""", 4));

        string line = BadInputAssert.EndsInOneLine(CliRunner.Run(Finetune(data, dir.File("out"), seqLen: "8")));

        Assert.Contains("--seq-len", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("blank lines only", "\n\n  \n")]
    [InlineData("every label -100", """{"input_ids":[65,66,67],"labels":[-100,-100,-100]}""")]
    [InlineData("only one-token sequences", """{"input_ids":[65]}""")]
    public void Eval_refuses_data_with_no_scored_token(string name, string content)
    {
        using var dir = new TempDirectory();
        string data = dir.File($"{name.Replace(' ', '-')}.jsonl");
        File.WriteAllText(data, content + "\n");

        (int code, string stdout, string err) = CliRunner.Run("eval", "--model", run.Model, "--data", data);
        string line = BadInputAssert.OneLine((code, stdout, err));

        Assert.Contains(data, line, StringComparison.Ordinal);
        Assert.Contains("nothing to evaluate", line, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"text":"a","text":"b"}""", "key \"text\" appears twice")]
    [InlineData("""{"text":"hello","input_ids":[65,66]}""", "mixes kinds")]
    public void Eval_names_the_line_of_a_duplicate_key_or_a_mixed_record(string record, string message)
    {
        using var dir = new TempDirectory();
        string data = dir.File("data.jsonl");
        File.WriteAllLines(data, ["""{"text":"fine"}""", record]);

        string line = BadInputAssert.OneLine(CliRunner.Run("eval", "--model", run.Model, "--data", data));

        Assert.Contains($"{data} line 2: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    private string[] Finetune(string data, string output, string seqLen = "32") =>
        ["finetune", "--model", run.Model, "--data", data, "--output", output, "--method", "lora", "--rank", "4", "--steps", "2",
         "--micro-batch", "2", "--seq-len", seqLen, "--val-split", "0"];
}
