using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

/// <summary>A hand-made LLaMA-3-layout tokenizer.json: ids worked out by hand from the merge ranks.</summary>
public sealed class BpeTextTokenizerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public BpeTextTokenizerTests() => TokenizerFixtures.WriteByteLevelBpe(_dir.Path);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EncodesByMergeRanks()
    {
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        Assert.IsType<BpeTextTokenizer>(tok);

        // "hello" = merge 3 (id 259); " world" = "Ġworld" = merge 8 (id 264).
        Assert.Equal([300, 259, 264], tok.Encode("hello world", addBos: true));

        // "help": h e l p → "he" then nothing joins "l p": he, l, p.
        Assert.Equal([256, 'l', 'p'], tok.Encode("help", addBos: false));
        Assert.Equal(305, tok.VocabSize);
        Assert.Equal(300, tok.BosId);
        Assert.Equal(302, tok.EosId);
        Assert.Null(tok.PadId);
    }

    [Fact]
    public void MergesAsArraysGiveTheSameIds()
    {
        using var other = new TempDirectory();
        TokenizerFixtures.WriteByteLevelBpe(other.Path, mergesAsArrays: true);
        Assert.Equal(
            TokenizerLoader.FromDirectory(_dir.Path).Encode("hello world, hello", false),
            TokenizerLoader.FromDirectory(other.Path).Encode("hello world, hello", false));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("  leading spaces\n\nand newlines\r\n")]
    [InlineData("naïve café — 日本語 🚀 123456")]
    [InlineData("it's we'll")]
    public void RoundTrips(string text)
    {
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        Assert.Equal(text, tok.Decode(tok.Encode(text, addBos: true)));
    }

    [Fact]
    public void SpecialTokensInTextAreAtomicAndDecodingDropsThem()
    {
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        int[] ids = tok.Encode("hello<|eot_id|>", addBos: false);
        Assert.Equal([259, 302], ids);
        Assert.Equal("hello", tok.Decode(ids));
        Assert.True(tok.TryGetTokenId("<|start_header_id|>", out int header));
        Assert.Equal(303, header);
        Assert.True(tok.TryGetTokenId("hello", out int hello));
        Assert.Equal(259, hello);
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([305]));
    }

    [Fact]
    public void EosFallsBackToConfigJson()
    {
        using var other = new TempDirectory();
        TokenizerFixtures.WriteByteLevelBpe(other.Path, writeConfig: false);
        File.WriteAllText(Path.Combine(other.Path, "config.json"), """{"bos_token_id": 300, "eos_token_id": [301, 302]}""");
        ITextTokenizer tok = TokenizerLoader.FromDirectory(other.Path);
        Assert.Equal(300, tok.BosId);
        Assert.Equal(301, tok.EosId);
    }

    [Fact]
    public void NoEosAnywhereIsAnError()
    {
        using var other = new TempDirectory();
        TokenizerFixtures.WriteByteLevelBpe(other.Path, writeConfig: false);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromDirectory(other.Path));
        Assert.Contains("end-of-sequence", e.Message, StringComparison.Ordinal);
    }
}
