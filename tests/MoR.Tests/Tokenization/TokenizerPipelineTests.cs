using System.Globalization;
using System.Text.Json;
using MoR.Tokenization;

namespace MoR.Tests.Tokenization;

/// <summary>
/// The tokenizer.json components the golden files (real LLaMA 2/3, Qwen 3, Gemma 3 files) do not reach: regexes on
/// code points, Split behaviours, Metaspace options. Expected pieces are the Rust tokenizers library's documented
/// results, worked out by hand.
/// </summary>
public sealed class TokenizerPipelineTests
{
    [Fact]
    public void RegexSeesSupplementaryLettersAsLetters()
    {
        // 𝐀 (U+1D400) and 𠀋 (U+2000B) are letters; .NET alone would see two surrogates each.
        var regex = new CodePointRegex(@"\p{L}+|\p{N}+");
        Assert.Equal([(0, 4), (5, 2), (7, 2)], regex.Matches("a𝐀b 𠀋𝟙"));
        Assert.Equal([(0, 5)], new CodePointRegex(@"\p{L}{3}").Matches("𝐀x𝐀")); // three code points, five UTF-16 units
    }

    [Fact]
    public void InlineCaseInsensitiveGroupsFoldAsciiOnly()
    {
        // Oniguruma's (?i:k) as Hugging Face translates it: [kK], so the Kelvin sign (which .NET folds to k) stays out.
        var regex = new CodePointRegex("(?i:'s|k)");
        Assert.Equal([(0, 2), (2, 2), (4, 1)], regex.Matches("'s'SK"));
        Assert.Empty(regex.Matches("\u212A"));
    }

    [Fact]
    public void StandInsHaveTheCategoryTheyStandFor()
    {
        foreach (UnicodeCategory category in Enum.GetValues<UnicodeCategory>())
        {
            if (category is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Control or UnicodeCategory.Surrogate)
            {
                continue; // no supplementary code point has these
            }

            char standIn = CodePointRegex.StandIn(category);
            Assert.Equal(category, CharUnicodeInfo.GetUnicodeCategory(standIn));
            Assert.False(char.IsWhiteSpace(standIn) || char.IsAsciiLetter(standIn), $"{category}: U+{(int)standIn:X4}");
        }
    }

    [Theory]
    [InlineData("Isolated", false, new[] { "a", "-", "-", "b", "-", "c" })]
    [InlineData("Removed", false, new[] { "a", "b", "c" })]
    [InlineData("MergedWithPrevious", false, new[] { "a-", "-", "b-", "c" })]
    [InlineData("MergedWithNext", false, new[] { "a", "-", "-b", "-c" })]
    [InlineData("Contiguous", false, new[] { "a", "--", "b", "-", "c" })]
    [InlineData("Isolated", true, new[] { "-", "-", "-" })]
    public void SplitBehaviours(string behavior, bool invert, string[] expected)
    {
        PreTokenizer split = ParsePreTokenizer($$"""{"type": "Split", "pattern": {"String": "-"}, "behavior": "{{behavior}}", "invert": {{(invert ? "true" : "false")}}}""");
        Assert.Equal(expected, split.Split(["a--b-c"], firstSection: true));
    }

    [Theory]
    [InlineData("always", true, true, new[] { "▁hello", "▁world" })]
    [InlineData("always", false, true, new[] { "▁hello▁world" })]
    [InlineData("first", true, false, new[] { "hello", "▁world" })]
    [InlineData("first", true, true, new[] { "▁hello", "▁world" })]
    [InlineData("never", true, true, new[] { "hello", "▁world" })]
    public void MetaspaceReplacesSpacesAndPrepends(string scheme, bool split, bool firstSection, string[] expected)
    {
        PreTokenizer metaspace = ParsePreTokenizer($$"""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "{{scheme}}", "split": {{(split ? "true" : "false")}}}""");
        Assert.Equal(expected, metaspace.Split(["hello world"], firstSection));
    }

    [Fact]
    public void ByteLevelMapsUtf8BytesToThePrintableAlphabet()
    {
        PreTokenizer byteLevel = ParsePreTokenizer("""{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}""");

        // GPT-2's split, each piece's UTF-8 bytes written as printable characters (space → Ġ, é → Ã©).
        Assert.Equal(["Ġhello", "Ġcaf\u00C3\u00A9", "!"], byteLevel.Split(["hello café!"], firstSection: true));
    }

    [Fact]
    public void UnsupportedComponentsAreRefusedByName()
    {
        var e = Assert.Throws<UnsupportedTokenizerException>(() => ParsePreTokenizer("""{"type": "BertPreTokenizer"}"""));
        Assert.Contains("BertPreTokenizer", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<UnsupportedTokenizerException>(() => ParsePreTokenizer("""{"type": "Split", "pattern": {"Regex": "(?<=\\p{Han}"}}"""));
        Assert.Contains("cannot be compiled", e.Message, StringComparison.Ordinal);
    }

    private static PreTokenizer ParsePreTokenizer(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return PreTokenizer.Parse(doc.RootElement)!;
    }
}
