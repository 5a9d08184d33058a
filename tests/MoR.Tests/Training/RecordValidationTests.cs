using System.Text.Json;
using MoR.Data;
using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Training;

/// <summary>
/// The record rules of <see cref="ExampleEncoder"/> and <see cref="JsonlDataset"/> beyond the CLI cases: metadata keys are
/// allowed, ids are checked against the model's vocabulary (not only the tokenizer's), a chat trained on every turn
/// needs no assistant, and packing can be sized without packing.
/// </summary>
public sealed class RecordValidationTests
{
    private static ExampleEncoder Encoder(bool mask = true, int? vocabulary = null) =>
        new(ByteTokenizer.Instance, new ChatFormatter(ChatTemplateKind.ChatMl), mask, vocabulary);

    private static TokenizedExample Encode(ExampleEncoder encoder, string line)
    {
        using JsonDocument doc = JsonDocument.Parse(line);
        return encoder.Encode(line, doc.RootElement);
    }

    [Theory]
    [InlineData("""{"text": "hello", "id": 7, "source": "wiki"}""")]
    [InlineData("""{"prompt": "a", "completion": "b", "meta": {"text": "nested keys are not the record's"}}""")]
    public void Keys_outside_the_record_kinds_are_allowed(string line) => Assert.NotEmpty(Encode(Encoder(), line).Ids);

    [Fact]
    public void Text_the_tokenizer_encodes_beyond_the_model_vocabulary_is_refused()
    {
        // The byte tokenizer knows 261 ids; a model whose embedding has 200 rows cannot embed its BOS (257).
        FormatException e = Assert.Throws<FormatException>(() => Encode(Encoder(vocabulary: 200), """{"text": "hi"}"""));
        Assert.Contains("token id 257 (position 0)", e.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 200)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chat_without_an_assistant_trains_on_every_token_when_prompts_are_not_masked()
    {
        TokenizedExample e = Encode(Encoder(mask: false), """{"messages": [{"role": "user", "content": "hello"}]}""");
        Assert.Equal(e.Ids.Length, e.LabelCount);
    }

    [Fact]
    public void A_chat_whose_assistant_turn_exists_is_accepted()
    {
        TokenizedExample e = Encode(Encoder(), """{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}""");
        Assert.True(e.LabelCount > 0);
    }

    [Fact]
    public void A_file_whose_records_all_take_no_loss_is_refused_as_a_whole()
    {
        using var dir = new TempDirectory();
        string path = dir.File("masked.jsonl");
        File.WriteAllLines(path, ["""{"input_ids": [65, 66], "labels": [-100, -100]}""", """{"input_ids": [67], "labels": [-100]}"""]);
        DataFormatException e = Assert.Throws<DataFormatException>(() => JsonlDataset.Read(path, Encoder()));
        Assert.Equal(0, e.Line);
        Assert.StartsWith($"{path}: none of its 2 records", e.Message, StringComparison.Ordinal);

        // One record with a loss token is enough.
        File.AppendAllLines(path, ["""{"input_ids": [67, 68], "labels": [-100, 68]}"""]);
        Assert.Equal(3, JsonlDataset.Read(path, Encoder()).Count);
    }

    [Fact]
    public void An_unpaired_surrogate_escape_names_its_line()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.jsonl");
        File.WriteAllLines(path, ["""{"text": "fine"}""", """{"text": "\ud800"}"""]);
        DataFormatException e = Assert.Throws<DataFormatException>(() => JsonlDataset.Read(path, Encoder()));
        Assert.Equal(2, e.Line);
        Assert.Contains("not valid text", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CountRows_matches_what_Pack_makes(bool pack)
    {
        var examples = Enumerable.Range(0, 40).Select(i => new TokenizedExample([.. Enumerable.Range(0, 1 + (i * 7 % 23))], [.. Enumerable.Range(0, 1 + (i * 7 % 23))])).ToList();
        examples.Add(new TokenizedExample([], []));
        foreach (int length in (int[])[4, 9, 16, 64])
        {
            Assert.Equal(SequencePacker.Pack(examples, length, 0, pack, out _).Count, SequencePacker.CountRows(examples, length, pack));
        }
    }
}
