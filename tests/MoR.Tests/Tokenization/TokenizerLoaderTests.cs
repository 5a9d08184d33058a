using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

public sealed class TokenizerLoaderTests : IDisposable
{
    // A LLaMA-2-style tokenizer.json: BPE with byte fallback and Metaspace-like normalizer (not byte-level).
    private const string SentencePieceStyleJson = """
        {"version": "1.0", "added_tokens": [], "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
         "pre_tokenizer": null, "decoder": {"type": "Sequence", "decoders": []},
         "model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "a": 1}, "merges": []}}
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void PrefersByteLevelTokenizerJson()
    {
        TokenizerFixtures.WriteByteLevelBpe(_dir.Path);
        TokenizerFixtures.WriteSentencePieceModel(_dir.File("tokenizer.model"));
        Assert.IsType<BpeTextTokenizer>(TokenizerLoader.FromDirectory(_dir.Path));
    }

    [Fact]
    public void FallsBackToModelWhenJsonIsSentencePieceStyle()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), SentencePieceStyleJson);
        TokenizerFixtures.WriteSentencePieceModel(_dir.File("tokenizer.model"));
        Assert.IsType<SentencePieceTextTokenizer>(TokenizerLoader.FromDirectory(_dir.Path));
    }

    [Fact]
    public void SentencePieceStyleJsonAloneIsNotSupported()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), SentencePieceStyleJson);
        var e = Assert.Throws<NotSupportedException>(() => TokenizerLoader.FromDirectory(_dir.Path));
        Assert.Contains("tokenizer.model", e.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => BpeTextTokenizer.Load(_dir.File("tokenizer.json")));
    }

    [Fact]
    public void WordPieceJsonIsNotSupported()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), """{"model": {"type": "WordPiece", "vocab": {}}}""");
        var e = Assert.Throws<NotSupportedException>(() => TokenizerLoader.FromDirectory(_dir.Path));
        Assert.Contains("WordPiece", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyDirectoryHasNoTokenizer()
    {
        Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromDirectory(_dir.Path));
        Assert.Throws<DirectoryNotFoundException>(() => TokenizerLoader.FromDirectory(_dir.File("missing")));
    }

    [Fact]
    public void MalformedConfigIsReported()
    {
        TokenizerFixtures.WriteByteLevelBpe(_dir.Path);
        File.WriteAllText(_dir.File("tokenizer_config.json"), "{ not json");
        Assert.Throws<InvalidDataException>(() => TokenizerLoader.FromDirectory(_dir.Path));
    }
}
