using MoR.Tests.IO;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

public sealed class ByteTokenizerTests
{
    private readonly ByteTokenizer _tok = ByteTokenizer.Instance;

    [Fact]
    public void IdsAreBytesThenSpecials()
    {
        Assert.Equal(261, _tok.VocabSize);
        Assert.Equal(257, _tok.BosId);
        Assert.Equal(258, _tok.EosId);
        Assert.Equal(256, _tok.PadId);
        Assert.Equal([257, 104, 105], _tok.Encode("hi", addBos: true));
        Assert.Equal([0xC3, 0xA9], _tok.Encode("é", addBos: false));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello, world")]
    [InlineData("naïve café — 日本語 🚀 \n\t\0")]
    [InlineData("<s> and </s> and <pad> stay text")]
    [InlineData("<|im_ almost <|im_start")]
    public void RoundTrips(string text)
    {
        Assert.Equal(text, _tok.Decode(_tok.Encode(text, addBos: true)));
    }

    [Fact]
    public void ChatMarkersAreAtomicOtherSpecialsAreNot()
    {
        int[] ids = _tok.Encode("<|im_start|>user\nhi<|im_end|><s>", addBos: false);
        Assert.Equal(ByteTokenizer.ImStart, ids[0]);
        Assert.Contains(ByteTokenizer.ImEnd, ids);
        Assert.DoesNotContain(ByteTokenizer.Bos, ids);
        Assert.Equal("user\nhi<s>", _tok.Decode(ids));
    }

    [Fact]
    public void DecodeDropsSpecialsAndRejectsOutOfRange()
    {
        Assert.Equal("ab", _tok.Decode([ByteTokenizer.Bos, 'a', ByteTokenizer.Pad, 'b', ByteTokenizer.Eos]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.Decode([261]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.Decode([-1]));
    }

    [Fact]
    public void CutMultibyteCharacterDecodesToReplacement()
    {
        int[] ids = _tok.Encode("é", addBos: false);
        Assert.Equal("\uFFFD", _tok.Decode(ids.AsSpan(0, 1)));
    }

    [Fact]
    public void TokenLookup()
    {
        Assert.True(_tok.TryGetTokenId("</s>", out int eos));
        Assert.Equal(258, eos);
        Assert.True(_tok.TryGetTokenId("<|im_end|>", out int imEnd));
        Assert.Equal(260, imEnd);
        Assert.True(_tok.TryGetTokenId("A", out int a));
        Assert.Equal(65, a);
        Assert.False(_tok.TryGetTokenId("AB", out _));
        Assert.Equal("<0x41>", _tok.GetTokenString(65));
        Assert.Equal("<|im_start|>", _tok.GetTokenString(259));
    }

    [Fact]
    public void SavedDirectoryLoadsBackWithChatMl()
    {
        using var dir = new TempDirectory();
        ByteTokenizer.Save(dir.Path);
        Assert.Same(ByteTokenizer.Instance, TokenizerLoader.FromDirectory(dir.Path));
        ChatFormatter chat = ChatFormatter.FromDirectory(dir.Path);
        Assert.Equal(ChatTemplateKind.ChatMl, chat.Kind);
        Assert.Equal("</s>", chat.EosToken);
    }
}
