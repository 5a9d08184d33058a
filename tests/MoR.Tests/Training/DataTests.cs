using MoR.Data;
using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Training;

/// <summary>JSONL formats, loss masks, packing, batching and data-order state.</summary>
public sealed class DataTests
{
    private static readonly ByteTokenizer Tok = ByteTokenizer.Instance;

    private static ExampleEncoder Encoder(bool mask = true) => new(Tok, new ChatFormatter(ChatTemplateKind.ChatMl), mask);

    private static List<TokenizedExample> ReadLines(params string[] lines)
    {
        using var dir = new TempDirectory();
        string path = dir.File("data.jsonl");
        File.WriteAllLines(path, lines);
        return JsonlDataset.Read(path, Encoder());
    }

    [Fact]
    public void Text_records_take_loss_on_everything_after_bos()
    {
        TokenizedExample e = ReadLines("{\"text\":\"hi\"}")[0];
        Assert.Equal([ByteTokenizer.Bos, 'h', 'i', ByteTokenizer.Eos], e.Ids);
        Assert.Equal([TokenizedExample.IgnoreIndex, 'h', 'i', ByteTokenizer.Eos], e.Labels);
    }

    [Fact]
    public void Prompt_completion_takes_loss_on_the_completion_only()
    {
        TokenizedExample e = ReadLines("{\"prompt\":\"ab\",\"completion\":\"c\"}")[0];
        Assert.Equal([ByteTokenizer.Bos, 'a', 'b', 'c', ByteTokenizer.Eos], e.Ids);
        Assert.Equal([-100, -100, -100, 'c', ByteTokenizer.Eos], e.Labels);
        TokenizedExample unmasked = Encoder(mask: false).EncodePromptCompletion("ab", "c");
        Assert.Equal([-100, 'a', 'b', 'c', ByteTokenizer.Eos], unmasked.Labels);
    }

    [Fact]
    public void Chat_records_take_loss_on_assistant_turns_only()
    {
        TokenizedExample e = ReadLines("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"yes\"}]}")[0];
        string trained = Tok.Decode(e.Labels.Where(l => l >= 0).ToArray());
        Assert.Contains("yes", trained, StringComparison.Ordinal);
        Assert.DoesNotContain("q", trained, StringComparison.Ordinal);
        Assert.DoesNotContain("user", trained, StringComparison.Ordinal);
    }

    [Fact]
    public void Pretokenised_records_keep_their_labels()
    {
        TokenizedExample e = ReadLines("{\"input_ids\":[1,2,3],\"labels\":[-100,2,3]}", "", "{\"input_ids\":[4,5]}")[0];
        Assert.Equal([1, 2, 3], e.Ids);
        Assert.Equal([-100, 2, 3], e.Labels);
    }

    [Theory]
    [InlineData("{\"text\":\"ok\"}\n{not json}", 2, "not valid JSON")]
    [InlineData("{\"text\":\"ok\"}\n\n{\"foo\":1}", 3, "expected one of")]
    [InlineData("{\"prompt\":\"x\"}", 1, "completion")]
    [InlineData("{\"input_ids\":[1,999]}", 1, "outside the vocabulary")]
    [InlineData("{\"input_ids\":[1,2],\"labels\":[1]}", 1, "labels")]
    [InlineData("[1,2]", 1, "JSON object")]
    public void Bad_lines_name_the_file_and_line(string content, int line, string what)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.jsonl");
        File.WriteAllText(path, content);
        DataFormatException e = Assert.Throws<DataFormatException>(() => JsonlDataset.Read(path, Encoder()));
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"{path}:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Packing_keeps_examples_whole_and_shifts_targets()
    {
        var a = new TokenizedExample([1, 2, 3], [-100, 2, 3]);
        var b = new TokenizedExample([4, 5], [-100, 5]);
        var c = new TokenizedExample([6, 7, 8, 9, 10, 11, 12], [6, 7, 8, 9, 10, 11, 12]);
        List<PackedSequence> rows = SequencePacker.Pack([a, b, c], sequenceLength: 5, padId: 0, pack: true, out int truncated);
        Assert.Equal(1, truncated);
        Assert.Equal(2, rows.Count);
        Assert.Equal([1, 2, 3, 4, 5], rows[0].InputIds);
        Assert.Equal([2, 3, -100, 5, -100], rows[0].Targets);
        Assert.Equal([6, 7, 8, 9, 10], rows[1].InputIds);
        Assert.Equal([7, 8, 9, 10, 11], rows[1].Targets);

        List<PackedSequence> unpacked = SequencePacker.Pack([a, b], 5, padId: 0, pack: false, out _);
        Assert.Equal(2, unpacked.Count);
        Assert.Equal([4, 5, 0, 0, 0], unpacked[1].InputIds);
        Assert.Equal([5, -100, -100, -100, -100], unpacked[1].Targets);
    }

    [Fact]
    public void Loader_order_is_fixed_by_seed_and_cursor()
    {
        List<PackedSequence> rows = [.. Enumerable.Range(0, 7).Select(i => new PackedSequence([i], [i]))];
        var first = new BatchLoader(rows, 3, seed: 9);
        int[][] batches = [.. Enumerable.Range(0, 5).Select(_ => first.Next().InputIds)];
        Assert.Equal(7, batches.Take(2).SelectMany(b => b).Concat(batches[2].Take(1)).Distinct().Count());  // epoch 0 is a permutation

        var resumed = new BatchLoader(rows, 3, seed: 9);
        var probe = new BatchLoader(rows, 3, seed: 9);
        probe.Next();
        probe.Next();
        resumed.Cursor = probe.Cursor;
        Assert.Equal(batches[2], resumed.Next().InputIds);
        Assert.Equal(batches[3], resumed.Next().InputIds);
        Assert.NotEqual(batches.SelectMany(b => b), Enumerable.Range(0, 5).SelectMany(_ => new BatchLoader(rows, 3, seed: 10).Next().InputIds));
    }

    [Fact]
    public void Validation_split_is_deterministic_and_disjoint()
    {
        List<TokenizedExample> all = [.. Enumerable.Range(0, 50).Select(i => new TokenizedExample([i], [i]))];
        (List<TokenizedExample> train, List<TokenizedExample> val) = DatasetSplit.Split(all, 0.1, seed: 1);
        Assert.Equal(5, val.Count);
        Assert.Equal(45, train.Count);
        Assert.Empty(train.Intersect(val));
        Assert.Equal(val, DatasetSplit.Split(all, 0.1, seed: 1).Validation);
    }
}
