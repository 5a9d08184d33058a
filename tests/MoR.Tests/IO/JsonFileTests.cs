using System.Text.Json;
using MoR.IO;
using MoR.Training;

namespace MoR.Tests.IO;

/// <summary>The strict JSON reader behind every config file: each way a file can be invalid is a <see cref="JsonFileException"/> naming the file, the line and the byte.</summary>
public sealed class JsonFileTests
{
    [Theory]
    [InlineData("{\n  \"a\": 1,\n  \"b\": [1, 2", 3, "'2' is an invalid end of a number")]   // truncated
    [InlineData("{\n  \"a\": 1,\n  \"b\": [1, 2]\n", 4, "open JSON object or array")]
    [InlineData("{\n  \"a\": 1,\n}", 3, "trailing comma")]
    [InlineData("// note\n{\"a\": 1}", 1, "'/'")]                                        // comments are not JSON
    [InlineData("{\"a\": 1, /* note */ \"b\": 2}", 1, "'/'")]
    [InlineData("{\n\"a\": NaN}", 2, "'N'")]                                             // NaN is not a JSON literal
    [InlineData("{\"a\": 1, \"b\": {\"c\": 2,\n \"c\": 3}}", 2, "the key \"c\" appears twice")]
    [InlineData("{\"a\": 1} {\"b\": 2}", 1, "'{'")]                                      // two values
    public void Every_syntax_error_names_the_line_and_byte(string text, long line, string reason)
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.json");
        File.WriteAllText(path, text);

        foreach (Action read in Readers(path))
        {
            JsonFileException e = Assert.Throws<JsonFileException>(read);
            Assert.Equal(path, e.FilePath);
            Assert.Equal(line, e.Line);
            Assert.True(e.Position >= 1);
            Assert.Contains(reason, e.Message, StringComparison.Ordinal);
            Assert.StartsWith($"'{path}' is not valid JSON at line {line}, byte {e.Position}: ", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("LineNumber", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("reader options", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\t\r\n")]
    [InlineData("\uFEFF")]
    public void An_empty_file_says_so(string text)
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.json");
        File.WriteAllText(path, text);
        foreach (Action read in Readers(path))
        {
            JsonFileException e = Assert.Throws<JsonFileException>(read);
            Assert.Equal($"'{path}' is not valid JSON: the file is empty", e.Message);
            Assert.Null(e.Line);
        }
    }

    [Theory]
    [InlineData("[1, 2]", "an array")]
    [InlineData("\"text\"", "a string")]
    [InlineData("42", "a number")]
    [InlineData("null", "null")]
    public void A_top_level_value_other_than_an_object_is_refused(string text, string kind)
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.json");
        File.WriteAllText(path, text);
        Assert.Contains($"the top-level value is {kind}, not an object", Assert.Throws<JsonFileException>(() => JsonFile.ParseObject(path).Dispose()).Message, StringComparison.Ordinal);
        Assert.Contains($"the top-level value is {kind}, not an object", Assert.Throws<JsonFileException>(() => JsonFile.ParseNode(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_file_with_a_byte_order_mark_reads()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.json");
        File.WriteAllText(path, "{\"a\": [1, 2]}", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        using JsonDocument doc = JsonFile.ParseObject(path);
        Assert.Equal(2, doc.RootElement.GetProperty("a").GetArrayLength());
        Assert.Equal(2, JsonFile.ParseNode(path)["a"]!.AsArray().Count);
    }

    [Fact]
    public void Deserialize_reports_a_value_of_the_wrong_type_with_its_path()
    {
        using var dir = new TempDirectory();
        string path = dir.File("trainer_state.json");
        File.WriteAllText(path, "{\n  \"format_version\": 1,\n  \"step\": \"three\"\n}");
        JsonFileException e = Assert.Throws<JsonFileException>(() => JsonFile.Deserialize<TrainerState>(path, TrainingJson.Options));
        Assert.Equal(3, e.Line);
        Assert.Contains("$.step", e.Message, StringComparison.Ordinal);
    }

    private static Action[] Readers(string path) =>
    [
        () => JsonFile.ParseObject(path).Dispose(),
        () => JsonFile.ParseNode(path),
        () => JsonFile.Deserialize<Dictionary<string, JsonElement>>(path, JsonSerializerOptions.Default),
    ];
}
