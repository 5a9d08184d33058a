using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

/// <summary>A hand-written SentencePiece BPE model (LLaMA 2 layout: controls, 256 byte pieces, then merges by score).</summary>
public sealed class SentencePieceTextTokenizerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SentencePieceTextTokenizerTests() => TokenizerFixtures.WriteSentencePieceModel(_dir.File("tokenizer.model"));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EncodesWithDummyPrefixAndScores()
    {
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        Assert.IsType<SentencePieceTextTokenizer>(tok);
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        Assert.Equal(259 + TokenizerFixtures.SentencePieces.Length, tok.VocabSize);

        // "▁hello▁world": highest-scoring merges first reach the two whole-word pieces.
        Assert.Equal([1, TokenizerFixtures.PieceId("▁hello"), TokenizerFixtures.PieceId("▁world")], tok.Encode("hello world", addBos: true));
    }

    [Fact]
    public void UnknownCharactersFallBackToBytes()
    {
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        int[] ids = tok.Encode("é", addBos: false);
        Assert.Equal([TokenizerFixtures.PieceId("▁"), 3 + 0xC3, 3 + 0xA9], ids);
        Assert.Equal("é", tok.Decode(ids));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("held word 🚀 ünïcödé")]
    public void RoundTrips(string text)
    {
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        Assert.Equal(text, tok.Decode(tok.Encode(text, addBos: true)));
    }

    [Fact]
    public void SpecialTokensFromTokenizerConfig()
    {
        File.WriteAllText(_dir.File("tokenizer_config.json"), """
            {"bos_token": {"content": "<s>", "special": true}, "eos_token": "</s>", "pad_token": "<unk>",
             "added_tokens_decoder": {"277": {"content": "<|im_end|>", "special": true}}}
            """);
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        Assert.Equal(0, tok.PadId);
        Assert.Equal(278, tok.VocabSize);
        Assert.True(tok.TryGetTokenId("<|im_end|>", out int imEnd));
        Assert.Equal(277, imEnd);
        Assert.True(tok.TryGetTokenId("▁hello", out int hello));
        Assert.Equal(TokenizerFixtures.PieceId("▁hello"), hello);
    }

    [Fact]
    public void GarbageModelIsReported()
    {
        File.WriteAllBytes(_dir.File("tokenizer.model"), [0xFF, 0xFF, 0xFF, 0x0F, 0x01]);
        Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromDirectory(_dir.Path));
    }
}
