using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

public sealed class TokenizerLoaderTests : IDisposable
{
    // A LLaMA-2-style tokenizer.json: "▁" for spaces, BPE with byte fallback, the decoder undoing both.
    private const string SentencePieceStyleJson = """
        {"version": "1.0", "added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false}],
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
         "pre_tokenizer": null,
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
         "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true, "unk_token": "<unk>",
                   "vocab": {"<unk>": 0, "a": 1, "▁": 2, "▁a": 3, "<0xC3>": 4, "<0xA9>": 5}, "merges": ["▁ a"]}}
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
    public void PrefersTokenizerJsonEvenWhenSentencePieceStyle()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), SentencePieceStyleJson);
        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"eos_token": "<unk>"}""");
        TokenizerFixtures.WriteSentencePieceModel(_dir.File("tokenizer.model"));
        Assert.IsType<BpeTextTokenizer>(TokenizerLoader.FromDirectory(_dir.Path));
    }

    [Fact]
    public void SentencePieceStyleJsonLoadsWithoutModel()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), SentencePieceStyleJson);
        File.WriteAllText(_dir.File("tokenizer_config.json"), """{"eos_token": "<unk>"}""");
        ITextTokenizer tok = TokenizerLoader.FromDirectory(_dir.Path);
        Assert.IsType<BpeTextTokenizer>(tok);

        // "a a" → "▁a▁a" → ▁a ▁a; "é" → "▁é": ▁ then é by its UTF-8 bytes; "ab" → ▁a, then b (no byte token) → <unk>.
        Assert.Equal([3, 3], tok.Encode("a a", addBos: false));
        Assert.Equal([2, 4, 5], tok.Encode("é", addBos: false));
        Assert.Equal([3, 0], tok.Encode("abb", addBos: false)); // fuse_unk: two unknowns become one
        Assert.Equal("a a", tok.Decode([3, 3]));
        Assert.Equal("é", tok.Decode([2, 4, 5]));
    }

    [Fact]
    public void UnsupportedComponentsAreNamed()
    {
        File.WriteAllText(_dir.File("tokenizer.json"), SentencePieceStyleJson.Replace("\"type\": \"Prepend\", \"prepend\": \"▁\"", "\"type\": \"Precompiled\"", StringComparison.Ordinal));
        var e = Assert.Throws<NotSupportedException>(() => TokenizerLoader.FromDirectory(_dir.Path));
        Assert.Contains("Precompiled", e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.model", e.Message, StringComparison.Ordinal);
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
